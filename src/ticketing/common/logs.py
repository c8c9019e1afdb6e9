"""Logs as one JSON object per line, with service and correlation id, so one grep shows an
order's whole story across services. LOG_FORMAT=text gives plain lines instead."""

import json
import logging
import os
from datetime import UTC, datetime
from typing import TextIO

from ticketing.common import correlation

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str | None = None) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, str | int | float | bool] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if self.service:
            entry["service"] = self.service
        if request_id := correlation.current():
            entry["requestId"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, str | int | float | bool) else str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


class TextFormatter(logging.Formatter):
    """For a person at a console: plain lines, still carrying the correlation id."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{record.levelname} {record.name}: {record.getMessage()}"
        if request_id := correlation.current():
            line += f" [request {request_id}]"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class _Handler(logging.StreamHandler[TextIO]):
    """Ours: configure_logging adds it once however many apps a process builds."""


def configure_logging(service: str | None = None) -> None:
    root = logging.getLogger()
    if any(isinstance(h, _Handler) for h in root.handlers):
        return
    if root.handlers and os.environ.get("LOG_FORMAT") != "json":
        return  # a host (pytest, uvicorn's config) already set logging up
    handler = _Handler()
    if os.environ.get("LOG_FORMAT", "json") == "json":
        handler.setFormatter(JsonFormatter(service or os.environ.get("SERVICE_NAME")))
    else:
        handler.setFormatter(TextFormatter())
    root.addHandler(handler)
    root.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())
    logging.getLogger("nats").setLevel(logging.WARNING)
