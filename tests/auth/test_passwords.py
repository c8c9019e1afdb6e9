import base64
import hashlib
import os

import pytest

from ticketing.auth.passwords import (
    cpu_quota,
    hash_password_sync,
    hashing_threads,
    verify_and_update_sync,
    verify_password_sync,
)


def scrypt_hash(password: str) -> str:
    """A hash as this service stored them before Argon2id."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=64)
    encoded = base64.b64encode(salt).decode(), base64.b64encode(digest).decode()
    return f"scrypt${2**14}$8$1${encoded[0]}${encoded[1]}"


def test_a_password_verifies_against_its_own_hash_only():
    stored = hash_password_sync("correct horse")
    assert verify_password_sync("correct horse", stored)
    assert not verify_password_sync("correct horsE", stored)


def test_new_hashes_are_argon2id_with_at_least_owasp_parameters():
    stored = hash_password_sync("correct horse")
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert verify_and_update_sync("correct horse", stored) == (True, None)


def test_the_same_password_hashes_differently_each_time():
    assert hash_password_sync("same-password") != hash_password_sync("same-password")


def test_a_malformed_stored_hash_never_verifies():
    assert not verify_password_sync("anything", "not-a-hash")
    assert not verify_password_sync("anything", "scrypt$not$a$hash")
    assert not verify_password_sync("anything", "scrypt$16384$8$1$!!$!!")


def test_an_old_scrypt_hash_verifies_and_asks_to_be_replaced_with_argon2id():
    stored = scrypt_hash("correct horse")
    right, new_hash = verify_and_update_sync("correct horse", stored)
    assert right
    assert new_hash is not None and new_hash.startswith("$argon2id$")
    assert verify_password_sync("correct horse", new_hash)
    assert verify_and_update_sync("wrong horse", stored) == (False, None)


def _cgroup(tmp_path, files: dict[str, str]):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("files", "cpus"),
    [
        ({"cpu.max": "200000 100000\n"}, 2),
        ({"cpu.max": "150000 100000\n"}, 2),  # 1.5 CPUs: round up, a half CPU still hashes
        ({"cpu.max": "50000 100000\n"}, 1),
        ({"cpu.max": "max 100000\n"}, None),
        ({"cpu/cpu.cfs_quota_us": "300000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 3),
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
        (
            {
                "cpu,cpuacct/cpu.cfs_quota_us": "100000\n",
                "cpu,cpuacct/cpu.cfs_period_us": "100000\n",
            },
            1,
        ),
        ({"cpu.max": "garbage"}, None),
        ({}, None),
    ],
)
def test_the_cpu_quota_is_read_from_cgroup_v2_or_v1(tmp_path, files, cpus):
    assert cpu_quota(_cgroup(tmp_path, files)) == cpus


def test_the_hashing_pool_is_as_wide_as_the_quota_and_no_wider_than_the_cpus(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: set(range(64)), raising=False)
    assert hashing_threads(_cgroup(tmp_path / "quota", {"cpu.max": "200000 100000"})) == 2
    assert hashing_threads(_cgroup(tmp_path / "none", {"cpu.max": "max 100000"})) == 64
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: {0}, raising=False)
    assert hashing_threads(_cgroup(tmp_path / "big", {"cpu.max": "800000 100000"})) == 1
