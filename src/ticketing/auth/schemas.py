"""Auth's request and response bodies, with the original app's messages."""

from collections.abc import Callable
from uuid import UUID

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, Field, field_validator

from ticketing.auth import domain
from ticketing.common import text
from ticketing.common.refusals import Invalid


class Credentials(BaseModel):
    email: str = Field(json_schema_extra={"format": "email", "maxLength": domain.EMAIL_MAX_LENGTH})
    password: str = Field(
        json_schema_extra={"minLength": 1, "maxLength": domain.GIVEN_PASSWORD_MAX}
    )

    @field_validator("email")
    @classmethod
    def _valid_email(cls, value: str) -> str:
        """An address's syntax is email_validator's to judge; the account's form, ours."""
        if text.has_surrogate(value):
            raise ValueError(domain.BAD_EMAIL)
        try:
            checked = validate_email(value.strip(), check_deliverability=False)
        except EmailNotValidError:
            raise ValueError(domain.BAD_EMAIL) from None
        return _checked(domain.account_email, checked.normalized)


class SignupIn(Credentials):
    password: str = Field(
        json_schema_extra={
            "minLength": domain.NEW_PASSWORD_LENGTH[0],
            "maxLength": domain.NEW_PASSWORD_LENGTH[1],
        }
    )

    @field_validator("password")
    @classmethod
    def _new(cls, value: str) -> str:
        return _checked(domain.new_password, value)


class SigninIn(Credentials):
    @field_validator("password")
    @classmethod
    def _given(cls, value: str) -> str:
        return _checked(domain.given_password, value)


def _checked(rule: Callable[[str], str], value: str) -> str:
    """The domain's refusal as pydantic's error, so it reads as the field's message."""
    try:
        return rule(value)
    except Invalid as refused:
        raise ValueError(refused.message) from None


class UserOut(BaseModel):
    id: UUID
    email: str


class CurrentUserOut(BaseModel):
    currentUser: UserOut | None
