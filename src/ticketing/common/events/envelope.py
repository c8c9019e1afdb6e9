"""The JSON envelope {id, subject, occurredAt, data}; its id doubles as Nats-Msg-Id."""

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from pydantic import AwareDatetime, Field

from ticketing.common import correlation
from ticketing.common.events.schemas import SCHEMAS, Event, _Wire
from ticketing.common.events.subjects import Subject


class Envelope(_Wire):
    id: UUID = Field(default_factory=uuid4)
    subject: Subject
    occurred_at: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    data: dict[str, Any]
    correlation_id: str | None = None

    @classmethod
    def wrap(cls, event: Event) -> "Envelope":
        return cls(
            subject=event.subject,
            data=event.model_dump(mode="json", by_alias=True),
            correlation_id=correlation.current(),
        )

    @classmethod
    def from_bytes(cls, raw: bytes) -> "Envelope":
        return cls.model_validate_json(raw)

    def event(self) -> Event:
        """The typed data; raises pydantic.ValidationError for data that breaks the schema."""
        return SCHEMAS[self.subject].model_validate(self.data)
