"""scrypt password hashes, computed off the event loop so sign-ins never stall reads."""

import asyncio
import base64
import hashlib
import hmac
import os

N, R, P, LENGTH = 2**14, 8, 1, 64


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, dklen=LENGTH, maxmem=128 * n * r * 2
    )


def _encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def hash_password_sync(password: str) -> str:
    salt = os.urandom(16)
    digest = _derive(password, salt, N, R, P)
    return f"scrypt${N}${R}${P}${_encode(salt)}${_encode(digest)}"


def verify_password_sync(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        actual = _derive(password, base64.b64decode(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(hash_password_sync, password)


async def verify_password(password: str, stored: str) -> bool:
    return await asyncio.to_thread(verify_password_sync, password, stored)


# Verified against when the email is unknown, so a miss costs as long as a wrong password.
DUMMY_HASH = hash_password_sync(os.urandom(16).hex())
