"""How large a request body may be, as every server on the way says it: the services'
middleware (common/body_limit.py) and both gateways. No web framework here: the
supervisor reads it to write nginx's configuration."""

MAX_BODY_BYTES = 64 * 1024  # the gateway stops bodies at the same size


def too_large(max_bytes: int = MAX_BODY_BYTES) -> str:
    return f"Request body must be at most {max_bytes} bytes"
