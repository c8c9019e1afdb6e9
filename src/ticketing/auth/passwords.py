"""Argon2id password hashes, computed off the event loop so sign-ins never stall reads.

Hashes from before Argon2 (`scrypt$...`) still verify, and are replaced with Argon2id at
the owner's next successful sign-in.
"""

import asyncio
import base64
import contextlib
import hashlib
import hmac
import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar, TypeVarTuple

from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError
from pwdlib.hashers.argon2 import Argon2Hasher

T = TypeVar("T")
Args = TypeVarTuple("Args")

# OWASP's Argon2id minimum: 19 MiB, two passes, one lane.
MEMORY_KIB, TIME_COST, PARALLELISM = 19 * 1024, 2, 1


class ScryptHasher:
    """Verifies the `scrypt$n$r$p$salt$digest` hashes this service stored before Argon2id;
    never the current hasher, so every one that verifies is rehashed."""

    @classmethod
    def identify(cls, hash: str | bytes) -> bool:
        return isinstance(hash, str) and hash.startswith("scrypt$")

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        raise NotImplementedError("scrypt hashes are only verified, never made")

    def verify(self, password: str | bytes, hash: str | bytes) -> bool:
        secret = password.encode() if isinstance(password, str) else password
        try:
            _, cost, block, lanes, salt, digest = str(hash).split("$")
            n, r, p = int(cost), int(block), int(lanes)
            expected = base64.b64decode(digest, validate=True)
            actual = hashlib.scrypt(
                secret,
                salt=base64.b64decode(salt, validate=True),
                n=n,
                r=r,
                p=p,
                dklen=len(expected),
                maxmem=128 * n * r * 2,
            )
        except ValueError:
            return False
        return hmac.compare_digest(actual, expected)

    def check_needs_rehash(self, hash: str | bytes) -> bool:
        return True


_HASH = PasswordHash(
    (
        Argon2Hasher(time_cost=TIME_COST, memory_cost=MEMORY_KIB, parallelism=PARALLELISM),
        ScryptHasher(),
    )
)


def hash_password_sync(password: str) -> str:
    return _HASH.hash(password)


def verify_and_update_sync(password: str, stored: str) -> tuple[bool, str | None]:
    """Whether the password is right, and a new hash to store when the stored one is of an
    old kind or weaker parameters."""
    try:
        return _HASH.verify_and_update(password, stored)
    except UnknownHashError:
        return False, None


def verify_password_sync(password: str, stored: str) -> bool:
    return verify_and_update_sync(password, stored)[0]


def cpu_quota(cgroup: Path = Path("/sys/fs/cgroup")) -> int | None:
    """Whole CPUs the container may use, rounded up; None when no quota is set.

    A container limited to 2 CPUs on a 64-core node sees 64 in os.cpu_count(): a pool that
    wide would run 64 hashes at 19 MiB each on 2 CPUs' worth of time."""
    candidates = (
        (cgroup / "cpu.max", None),  # cgroup v2: "<quota> <period>" or "max <period>"
        (cgroup / "cpu" / "cpu.cfs_quota_us", cgroup / "cpu" / "cpu.cfs_period_us"),  # v1
        (cgroup / "cpu,cpuacct" / "cpu.cfs_quota_us", cgroup / "cpu,cpuacct" / "cpu.cfs_period_us"),
    )
    for quota_file, period_file in candidates:
        try:
            if period_file is None:
                quota, period = quota_file.read_text().split()[:2]
            else:
                quota, period = quota_file.read_text().strip(), period_file.read_text().strip()
            if quota == "max" or int(quota) <= 0:
                return None
            return max(1, math.ceil(int(quota) / int(period)))
        except (OSError, ValueError, ZeroDivisionError):
            continue
    return None


def hashing_threads(cgroup: Path = Path("/sys/fs/cgroup")) -> int:
    """As many hashing threads as CPUs this process may really use."""
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count() or 2
    quota = cpu_quota(cgroup)
    return max(1, min(usable, quota) if quota else usable)


def _lower_priority() -> None:
    """Hashing threads yield the CPU to request handling (in this and other processes)."""
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


# A pool of its own, as wide as the CPUs we may use: hashing in asyncio's default pool
# (many threads) starved every event loop during a sign-in storm.
_HASHING = ThreadPoolExecutor(
    max_workers=hashing_threads(), thread_name_prefix="argon2", initializer=_lower_priority
)


async def _off_loop(function: Callable[[*Args], T], *args: *Args) -> T:
    return await asyncio.get_running_loop().run_in_executor(_HASHING, function, *args)


async def hash_password(password: str) -> str:
    return await _off_loop(hash_password_sync, password)


async def verify_and_update(password: str, stored: str) -> tuple[bool, str | None]:
    return await _off_loop(verify_and_update_sync, password, stored)


# Verified against when the email is unknown, so a miss costs as long as a wrong password.
DUMMY_HASH = hash_password_sync(os.urandom(16).hex())
