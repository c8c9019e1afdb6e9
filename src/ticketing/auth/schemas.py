"""Auth's request and response bodies, with the original app's messages."""

from uuid import UUID

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, Field, field_validator

from ticketing.common import text


class Credentials(BaseModel):
    email: str = Field(json_schema_extra={"format": "email", "maxLength": 254})
    password: str = Field(json_schema_extra={"minLength": 1, "maxLength": 1024})

    @field_validator("email")
    @classmethod
    def _valid_email(cls, value: str) -> str:
        """Stored lower-cased, so 'A@x.io' and 'a@x.io' are one account."""
        if text.has_surrogate(value):
            raise ValueError("Email must be valid")
        try:
            checked = validate_email(value.strip(), check_deliverability=False)
        except EmailNotValidError:
            raise ValueError("Email must be valid") from None
        if len(checked.normalized) > 254:
            raise ValueError("Email must be valid")
        return checked.normalized.lower()


class SignupIn(Credentials):
    password: str = Field(json_schema_extra={"minLength": 8, "maxLength": 128})

    @field_validator("password")
    @classmethod
    def _length(cls, value: str) -> str:
        if not 8 <= len(value) <= 128:
            raise ValueError("Password must be between 8 and 128 characters")
        return _encodable(value)


class SigninIn(Credentials):
    @field_validator("password")
    @classmethod
    def _present(cls, value: str) -> str:
        if not value or len(value) > 1024:
            raise ValueError("You must supply a password")
        return _encodable(value)


def _encodable(password: str) -> str:
    """A lone surrogate (JSON allows "\\ud800") has no UTF-8 form to hash."""
    if text.has_surrogate(password):
        raise ValueError("Password must be valid text")
    return password


class UserOut(BaseModel):
    id: UUID
    email: str


class CurrentUserOut(BaseModel):
    currentUser: UserOut | None
