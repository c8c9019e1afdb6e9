"""A port handed out once is not handed out again, even where the kernel offers it twice."""

import socket
from pathlib import Path

from ticketing.runtime import ports
from ticketing.runtime.system import Options, System


def test_a_port_the_kernel_offers_again_is_not_handed_out_twice(monkeypatch):
    first, second = ports.free_port(), ports.free_port()
    fresh = next(port for port in range(1024, 65536) if port not in ports._claimed)
    offers = iter([first, first, second, second, fresh])
    monkeypatch.setattr(ports, "_unbound_port", lambda host: next(offers))
    assert ports.free_port() == fresh


def test_a_claimed_port_is_never_handed_out(monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        gateways = sock.getsockname()[1]
    ports.claim(gateways)
    offers = iter([gateways, gateways, 0])
    monkeypatch.setattr(ports, "_unbound_port", lambda host: next(offers))
    assert ports.free_port() == 0


def test_free_ports_are_bindable_and_distinct():
    handed = [ports.free_port() for _ in range(200)]
    assert len(set(handed)) == 200
    assert all(ports.port_is_free(port) for port in handed[:20])


def test_the_gateways_port_goes_to_no_backend_or_service(monkeypatch):
    """Chosen by whoever runs `up`, it is bound last, after every service has found one."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        gateways = sock.getsockname()[1]
    System(Options(port=gateways, data_dir=Path("unused")))
    other = next(port for port in range(1024, 65536) if port not in ports._claimed)
    offers = iter([gateways, other])
    monkeypatch.setattr(ports, "_unbound_port", lambda host: next(offers))
    assert ports.free_port() == other
