#!/usr/bin/env python3
"""`make up` / `make test` for a machine without make: `python3 dev.py up|test [args]`."""

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
# The lock's exports (uv.lock, exact versions with hashes): what running needs, and that
# plus the test tooling. pip checks every hash; no uv needed.
REQUIREMENTS = {"up": "local.txt", "test": "dev.txt", "install": "dev.txt"}


def install(command: str) -> None:
    requirements = ROOT / "requirements" / REQUIREMENTS[command]
    stamp = VENV / f".installed-{requirements.stem}"
    if stamp.exists() and stamp.stat().st_mtime >= requirements.stat().st_mtime:
        return
    if not (BIN / "python").exists():
        venv.create(VENV, with_pip=True)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--require-hashes", "-r", str(requirements)], check=True)
    subprocess.run([*pip, "--no-deps", "-e", str(ROOT)], check=True, cwd=ROOT)
    stamp.touch()


def main() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 — this script runs before the check pip makes
        sys.exit("Ticketing needs Python 3.11 or newer")
    command, *args = sys.argv[1:] or ["help"]
    programs = {"up": ["ticketing", "up"], "test": ["pytest"], "install": []}
    if command not in programs:
        sys.exit("usage: python3 dev.py up|test|install [arguments]")
    install(command)
    if programs[command]:
        program, *rest = programs[command]
        os.execv(BIN / program, [str(BIN / program), *rest, *args])


if __name__ == "__main__":
    main()
