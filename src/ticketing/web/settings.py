"""WebSettings: where the public API is and how the pages pay; no database, bus or JWT key."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class WebSettings(BaseSettings):
    """The web client calls the API as a browser would, so it needs only its address."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    api_base_url: str
    stripe_publishable_key: str | None = None
    cookie_secure: bool = True
    page_size: int = Field(20, ge=1, le=100)
    api_timeout_seconds: float = Field(10.0, gt=0)
    # As ServiceSettings: service_app reads them for every service, web included.
    metrics_port: int | None = Field(None, ge=1, le=65535)
    api_docs: bool = False
