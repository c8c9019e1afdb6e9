"""Free ports, found by asking the kernel, never by assuming a default is ours."""

import contextlib
import http.client
import socket
from email.message import Message

# Ports this process has handed out or been told are taken. A port the kernel calls free
# stays free until whatever it is for binds it, and the kernel may offer it again before
# then: a service once got the gateway's port, answered the gateway's readiness probe, and
# the system came up with nginx unable to listen and a service's 404s at its entrance.
_claimed: set[int] = set()


def _unbound_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]  # (host, port) for an IPv4 socket
        return port


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on that this process has not handed out before."""
    while (port := _unbound_port(host)) in _claimed:
        pass
    _claimed.add(port)
    return port


def claim(port: int) -> None:
    """Keeps `port` (one chosen elsewhere, as the gateway's is) out of free_port's answers."""
    _claimed.add(port)


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def port_answers(port: int, host: str = "127.0.0.1") -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def http_answer(host: str, port: int, path: str, timeout: float = 2) -> tuple[int, Message] | None:
    """The status and headers a GET of `path` is answered with; None if nothing answers
    HTTP there. The standard library's client: the supervisor's probes need no other."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        with contextlib.suppress(OSError, http.client.HTTPException):
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, response.msg
        return None
    finally:
        connection.close()
