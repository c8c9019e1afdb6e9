"""The correlation id that follows one user action through every service's logs and events.

A request takes it from X-Request-Id (or makes one); the outbox writes it into each
event's envelope; a listener restores it while handling, so follow-up events carry it on.
"""

from contextvars import ContextVar, Token
from secrets import token_hex

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ticketing.common.middleware import HttpMiddleware

_current: ContextVar[str | None] = ContextVar("correlation_id", default=None)
HEADER = "x-request-id"


def current() -> str | None:
    return _current.get()


def bind(value: str | None) -> Token[str | None]:
    return _current.set(value)


def reset(token: Token[str | None]) -> None:
    _current.reset(token)


class RequestCorrelation(HttpMiddleware):
    """ASGI middleware: bind the id for the request and echo it in the response."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        given = dict(scope.get("headers") or []).get(HEADER.encode(), b"").decode("latin-1")
        value = given[:100] if given and given.isprintable() else token_hex(16)
        token = bind(value)

        async def tagged_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (HEADER.encode(), value.encode())]
            await send(message)

        try:
            await self.app(scope, receive, tagged_send)
        finally:
            reset(token)
