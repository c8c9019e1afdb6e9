"""Auth's own settings: how hard sign-in throttling bites."""

from pydantic import Field

from ticketing.common.settings import ServiceSettings


class AuthSettings(ServiceSettings):
    signin_window_seconds: int = Field(15 * 60, gt=0)
    signin_max_failures_per_account: int = Field(5, gt=0)
    signin_max_failures_per_address: int = Field(20, gt=0)
    signin_max_failures_per_email: int = Field(100, gt=0)
