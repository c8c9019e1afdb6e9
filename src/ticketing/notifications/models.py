"""Notifications' tables."""

from sqlalchemy.orm import DeclarativeBase

from ticketing.common.db import service_metadata


class Base(DeclarativeBase):
    metadata = service_metadata()
