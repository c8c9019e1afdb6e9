"""Ids in page paths: only a UUID reaches the API; anything else is a missing page."""

from uuid import UUID

from starlette.exceptions import HTTPException


def parse_id(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise HTTPException(404) from None
