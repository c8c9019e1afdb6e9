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
STAMP = VENV / ".installed"


def install() -> None:
    pyproject = ROOT / "pyproject.toml"
    if STAMP.exists() and STAMP.stat().st_mtime >= pyproject.stat().st_mtime:
        return
    if not (BIN / "python").exists():
        venv.create(VENV, with_pip=True)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[dev]"], check=True, cwd=ROOT)
    STAMP.touch()


def main() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 — this script runs before the check pip makes
        sys.exit("Ticketing needs Python 3.11 or newer")
    command, *args = sys.argv[1:] or ["help"]
    programs = {"up": ["ticketing", "up"], "test": ["pytest"], "install": []}
    if command not in programs:
        sys.exit("usage: python3 dev.py up|test|install [arguments]")
    install()
    if programs[command]:
        program, *rest = programs[command]
        os.execv(BIN / program, [str(BIN / program), *rest, *args])


if __name__ == "__main__":
    main()
