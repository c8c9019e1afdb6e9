"""Files that hold secrets (passwords, admin URLs): readable by their owner alone."""

import os
from pathlib import Path


def write_owner_only(path: Path, text: str) -> None:
    """Created 0600 from the first byte, so no other user can read it even for a moment."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    path.chmod(0o600)  # an older copy may have been created with wider rights
