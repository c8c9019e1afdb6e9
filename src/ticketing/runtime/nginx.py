"""The gateway as nginx, when nginx is installed: the ingress production runs, for a
quarter of the Python gateway's CPU in a flash sale (docs/performance.md). It keeps the
Python gateway's rules (runtime/gateway.py): the same routes, paths every server reads
alike or a 400, the client's address stated by the gateway (the web client's, with the
relay key, for a browser), bodies capped at the services' limit, /metrics kept inside,
and its own answers in the common error shape."""

import json
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from ticketing.common.limits import MAX_BODY_BYTES, too_large
from ticketing.runtime.files import write_owner_only
from ticketing.runtime.ports import http_answer

# Debian and its kin install nginx in sbin, which a user's PATH often leaves out.
SEARCHED = ("/usr/sbin", "/usr/local/sbin")

# The raw path (before any '?') of a request that some server on the way could read as
# another path: a dot segment ('.', '..', '%2e' in any case), an encoded or back slash, an
# empty segment but a trailing one, a malformed escape, a control character, encoded or
# not, or a raw space or non-ASCII byte. The Python gateway's checked_path as one
# expression, but for encoded non-ASCII text that Python calls unprintable (%C2%A0), which
# both route alike. A quoted string in nginx's configuration keeps a backslash as it is
# unless it precedes a quote or another backslash, hence four for one literal backslash.
REFUSED_PATH = (
    r"~*^[^?]*(\\\\|%2f|%5c|//|%(?![0-9a-f]{2})|%[01][0-9a-f]|%7f"
    r"|/(\.|%2e){1,2}(/|\?|$)|[^!-~])"
)
IPV4 = r"(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}"
IPV6 = r"[0-9a-f]{0,4}(:[0-9a-f]{0,4}){2,7}"  # its shape only: the key vouches for the rest
METHODS = "GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS"
# Idle connections nginx keeps to each service: a flash sale's 200 buyers at once through
# 64 kept meant about one new connection to orders for every two reservations.
KEPT_UPSTREAM = 256


def binary() -> str | None:
    return shutil.which("nginx") or shutil.which("nginx", path=":".join(SEARCHED))


def _errors(message: str) -> str:
    """A JSON error body as an nginx string: single-quoted, so its double quotes stay."""
    return "'" + json.dumps({"errors": [{"message": message}]}) + "'"


def _error_page(codes: str, status: int, message: str) -> list[str]:
    uri = f"/.gateway/{status}"  # internal: a client that asks for it is not found
    return [
        f"        error_page {codes} ={status} {uri};",
        f"        location = {uri} {{ internal; return {status} {_errors(message)}; }}",
    ]


def _upstream_name(prefix: str) -> str:
    return "to" + (prefix.replace("/", "_") if prefix != "/" else "_web")


def _listen(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _server(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}"


def config(
    table: Mapping[str, Sequence[str]],
    *,
    host: str,
    port: int,
    folder: Path,
    relay_key: str | None = None,
    timeout: float = 30.0,
) -> str:
    """nginx.conf for `table` (path prefix → replica URLs), with every file nginx writes in
    `folder`. A relay key is written into it, so the file is its owner's alone."""
    if relay_key is not None and not relay_key.isalnum():
        raise ValueError("the relay key is matched as written: letters and digits only")
    lines = [
        "# Written by `ticketing up` at each start; the Python gateway's rules as nginx's.",
        "worker_processes 1;",
        f"pid {folder}/nginx.pid;",
        "error_log stderr warn;",
        "events { worker_connections 1024; }",
        "http {",
        "    access_log off;",
        "    server_tokens off;  # nginx always names itself, but never its version",
        f"    client_body_temp_path {folder}/body;",
        f"    proxy_temp_path {folder}/proxy;",
        f"    fastcgi_temp_path {folder}/fastcgi;",
        f"    uwsgi_temp_path {folder}/uwsgi;",
        f"    scgi_temp_path {folder}/scgi;",
        # The body is held in memory in full, as the Python gateway holds it, never on disk
        # (nginx counts what came with the headers apart, so the buffer has room to spare):
        # run by root, nginx's workers are nobody, who may not write in the data folder.
        f"    client_max_body_size {MAX_BODY_BYTES};",
        f"    client_body_buffer_size {2 * MAX_BODY_BYTES};",
        "    proxy_max_temp_file_size 0;",
        "    proxy_buffer_size 16k;",
        "    proxy_buffers 8 16k;",
        "    keepalive_requests 10000;",
        f'    map $request_uri $refused_path {{ "{REFUSED_PATH}" 1; default 0; }}',
    ]
    if relay_key is None:
        lines.append("    map $remote_addr $client_address { default $remote_addr; }")
    else:
        lines += [
            "    # Only the web client knows the key; it names the browser it calls for.",
            "    map $http_x_ticketing_relay $relayed_for {",
            f'        "~^{relay_key}$" $http_x_forwarded_for;',
            '        default "";',
            "    }",
            "    map $relayed_for $client_address {",
            f'        "~*^\\s*(?<address>{IPV4}|{IPV6})\\s*$" $address;',
            "        default $remote_addr;",
            "    }",
        ]
    upstreams: dict[str, str] = {}
    for prefix, urls in table.items():
        upstreams[prefix] = _upstream_name(prefix)
        servers = " ".join(f"server {_server(url)};" for url in urls)
        # Connections kept for 2 s, as the Python gateway keeps them; the services keep
        # theirs for 30, so neither end reuses one the other has closed.
        lines.append(
            f"    upstream {upstreams[prefix]} {{ {servers} keepalive {KEPT_UPSTREAM}; "
            "keepalive_timeout 2s; }"
        )
    lines += [
        "    server {",
        f"        listen {_listen(host, port)};",
        "        default_type application/json;",
        "        add_header X-Content-Type-Options nosniff always;",
        "        proxy_hide_header X-Content-Type-Options;",
        "        proxy_http_version 1.1;",
        "        proxy_redirect off;  # the browser follows, with its cookies",
        "        proxy_connect_timeout 5s;",
        f"        proxy_read_timeout {timeout:g}s;",
        f"        proxy_send_timeout {timeout:g}s;",
        # Who the client is and how it came in: the gateway says so, never the client.
        '        proxy_set_header Connection "";',
        "        proxy_set_header Host $http_host;",
        "        proxy_set_header X-Forwarded-For $client_address;",
        "        proxy_set_header X-Forwarded-Proto $scheme;",
        "        proxy_set_header X-Forwarded-Host $http_host;",
        '        proxy_set_header X-Forwarded-Port "";',
        '        proxy_set_header X-Forwarded-Prefix "";',
        '        proxy_set_header X-Real-IP "";',
        '        proxy_set_header Forwarded "";',
        '        proxy_set_header X-Ticketing-Relay "";',
        f"        if ($refused_path) {{ return 400 {_errors('Invalid path')}; }}",
        f"        if ($request_method !~ ^({METHODS})$) {{",
        f"            return 405 {_errors('Method not allowed')};",
        "        }",
        # Scraped from each process directly, never through the public entrance.
        f"        location ~* ^/metrics/?$ {{ return 404 {_errors('Not found')}; }}",
    ]
    for prefix in sorted(table, key=len, reverse=True):
        target = f"proxy_pass http://{upstreams[prefix]};"
        if prefix == "/":
            lines.append(f"        location / {{ {target} }}")
        else:
            bare = prefix.rstrip("/")
            lines.append(f"        location = {bare} {{ {target} }}")
            lines.append(f"        location {bare}/ {{ {target} }}")
    if "/" not in table:
        lines.append(f"        location / {{ return 404 {_errors('Not found')}; }}")
    lines += [
        # nginx's own refusals, in the common shape as the Python gateway's are.
        # (URIs, not named locations: a request whose line nginx could not read has none.)
        *_error_page("400 408 414 494", 400, "Bad request"),
        *_error_page("404", 404, "Not found"),
        *_error_page("405", 405, "Method not allowed"),
        *_error_page("413", 413, too_large()),
        *_error_page("500 502 503 504", 503, "Service unavailable, try again shortly"),
        "    }",
        "}",
        "",
    ]
    return "\n".join(lines)


def command(nginx: str, folder: Path) -> list[str]:
    """In the foreground, logging to stderr from the first line (before it reads the file)."""
    return [
        nginx,
        "-e",
        "stderr",
        "-p",
        str(folder),
        "-c",
        str(folder / "nginx.conf"),
        "-g",
        "daemon off;",
    ]


def refusal(nginx: str, folder: Path) -> str | None:
    """None if this nginx takes the configuration in `folder`, else its last word on why
    not (an nginx older than 1.19.5 knows no `-e`, say)."""
    try:
        tested = subprocess.run(
            [*command(nginx, folder), "-t"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return str(error)
    if tested.returncode == 0:
        return None
    said = tested.stderr.strip().splitlines()
    return said[-1] if said else f"exit status {tested.returncode}"


def write_config(folder: Path, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write_owner_only(folder / "nginx.conf", text)


def answers(host: str, port: int) -> bool:
    """Whether nginx itself answers on the port, not merely something: one that cannot bind
    keeps retrying for seconds before it exits, while whatever holds the port answers."""
    answer = http_answer(host, port, "/metrics", timeout=0.5)  # nginx's own, never proxied
    return answer is not None and answer[1].get("Server") == "nginx"
