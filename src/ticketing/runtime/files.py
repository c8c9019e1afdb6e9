"""Files that hold secrets (passwords, keys, admin URLs): readable by their owner alone."""

import json
import os
import secrets
from collections.abc import Iterable
from pathlib import Path


def write_owner_only(path: Path, text: str) -> None:
    """Owner-only before the first byte lands, so no other user can read it even for a
    moment, an older copy created with wider rights included."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)


def kept_passwords(path: Path, names: Iterable[str]) -> dict[str, str]:
    """A password for each name, made once and kept in `path` (JSON, owner-only), so the
    next run signs in with the same ones."""
    known = json.loads(path.read_text()) if path.exists() else {}
    wanted = {name: known.get(name) or secrets.token_hex(24) for name in names}
    if any(known.get(name) != password for name, password in wanted.items()):
        write_owner_only(path, json.dumps(known | wanted, indent=2))
    path.chmod(0o600)
    return wanted


def kept_secret(path: Path, prefix: str = "") -> str:
    """A random key made once and kept in `path` (owner-only), so the next run derives and
    checks with the same one. `prefix` says what kind of key it is (whsec_ for Stripe's)."""
    if not path.exists():
        write_owner_only(path, prefix + secrets.token_hex(32))
    path.chmod(0o600)
    return path.read_text().strip()
