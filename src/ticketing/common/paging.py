"""Keyset paging for lists: an opaque cursor, and the next page in an RFC 8288 Link header."""

import base64
import json
from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import Query, Request, Response

from ticketing.common.errors import BadRequest

Limit = Annotated[int, Query(ge=1, le=100)]


def encode_cursor(created_at: datetime, row_id: UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[datetime, UUID] | None:
    """The (created_at, id) after which the next page starts; a bad cursor is a 400."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        stamp, row_id = json.loads(base64.urlsafe_b64decode(padded))
        return datetime.fromisoformat(stamp), UUID(row_id)
    except (ValueError, TypeError):
        raise BadRequest("Invalid cursor", field="cursor") from None


def link_next(request: Request, response: Response, cursor: str | None) -> None:
    """Point at the next page, keeping every other query parameter as it was."""
    if cursor is None:
        return
    url = request.url.include_query_params(cursor=cursor)
    response.headers["Link"] = f'<{url.path}?{url.query}>; rel="next"'
