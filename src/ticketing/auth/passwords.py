"""scrypt password hashes, computed off the event loop so sign-ins never stall reads."""

import asyncio
import base64
import contextlib
import hashlib
import hmac
import os
import threading
from concurrent.futures import ThreadPoolExecutor

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


def _lower_priority() -> None:
    """Hashing threads yield the CPU to request handling (in this and other processes)."""
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


# A pool of its own, as wide as the machine: scrypt in asyncio's default pool (many
# threads) starved every event loop during a sign-in storm.
_HASHING = ThreadPoolExecutor(
    max_workers=os.cpu_count() or 2, thread_name_prefix="scrypt", initializer=_lower_priority
)


async def _off_loop(function, *args):
    return await asyncio.get_running_loop().run_in_executor(_HASHING, function, *args)


async def hash_password(password: str) -> str:
    return await _off_loop(hash_password_sync, password)


async def verify_password(password: str, stored: str) -> bool:
    return await _off_loop(verify_password_sync, password, stored)


# Verified against when the email is unknown, so a miss costs as long as a wrong password.
DUMMY_HASH = hash_password_sync(os.urandom(16).hex())
