"""The device cookie: a browser's proof that it signed in to an account before.

Guessing spread over many addresses slows an account down (throttle.Slowing); a sign-in
from a device the account used before is judged by that device's own counter instead, so
a stranger cannot lock the owner out. The cookie names a random device id and is signed,
with a key only auth holds, over that id and the email: it proves nothing for another account.
"""

import base64
import hashlib
import hmac
import secrets

from fastapi import Response

from ticketing.auth.settings import AuthSettings

COOKIE = "device"
MAX_AGE = 365 * 24 * 3600


def _key(settings: AuthSettings) -> bytes:
    if settings.device_key is not None:
        return settings.device_key.get_secret_value().encode()
    # Derived from the private key only auth holds, so no deployment needs another secret;
    # a separate key, so a device cookie is never something the token key signed.
    signing = settings.jwt_private_key.get_secret_value().encode()
    return hmac.new(signing, b"ticketing auth: device cookie", hashlib.sha256).digest()


def _signature(settings: AuthSettings, email: str, device_id: str) -> str:
    mac = hmac.new(_key(settings), f"{email}\n{device_id}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


def recognised(cookie: str | None, email: str, settings: AuthSettings) -> str | None:
    """The device id, if the cookie is one auth issued for this email; else None."""
    if not cookie or len(cookie) > 200 or not cookie.isascii():
        return None
    device_id, _, signature = cookie.partition(".")
    expected = _signature(settings, email, device_id)
    if not device_id or not hmac.compare_digest(signature, expected):
        return None
    return device_id


def remember(response: Response, email: str, device_id: str | None, settings: AuthSettings) -> None:
    """Set (or renew) the cookie after a right password; a new device gets a new id."""
    device_id = device_id or secrets.token_urlsafe(16)
    response.set_cookie(
        COOKIE,
        f"{device_id}.{_signature(settings, email, device_id)}",
        max_age=MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )
