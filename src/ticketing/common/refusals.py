"""What a domain rule says when it refuses. No HTTP here: a domain raises these and
common/errors.py answers each kind with its status, so the rules read the same whether a
route, a listener or a command line called them."""


class Refusal(Exception):
    message = "Refused"

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        self.message = message or self.message
        self.field = field
        super().__init__(self.message)


class Invalid(Refusal):
    """The request breaks a rule (a price above the cap, an order of one's own ticket)."""

    message = "Invalid request"


class NotYours(Refusal):
    """Someone else's resource."""

    message = "Not authorized"


class Missing(Refusal):
    """No such thing, or not one this caller may know of."""

    message = "Not found"


class Conflict(Refusal):
    """Right once, wrong now: the state has moved on (admitted already)."""

    message = "Conflict"


class Gone(Refusal):
    """It existed and no longer counts (a revoked code)."""

    message = "Gone"
