"""Renders the kustomize overlays once per run and answers questions about the result."""

import base64
import functools
import re
import subprocess
from pathlib import Path

import yaml

from tests.deploy import tools

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
OVERLAYS = ("dev", "prod")

# DESIGN.md, "Services": who owns a database and which public path each one serves.
SERVICES = ("auth", "tickets", "orders", "payments", "expiration", "passes", "notifications", "web")
WITH_DATABASE = ("auth", "tickets", "orders", "payments", "expiration", "passes", "notifications")
HASH_SUFFIX = re.compile(r"-[bcdfghkmt2456789]{10}$")
ROUTES = {
    "/api/users": "auth",
    "/api/tickets": "tickets",
    "/api/orders": "orders",
    "/api/payments": "payments",
    "/api/payouts": "payments",
    "/api/passes": "passes",
    "/api/checkins": "passes",
    "/": "web",
}


@functools.cache
def render(overlay: str) -> tuple[dict, ...]:
    command = [*tools.kubectl(), str(DEPLOY / "k8s" / "overlays" / overlay)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"kustomize failed for {overlay}:\n{done.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(done.stdout) if doc)


def of_kind(overlay: str, kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in render(overlay) if d["kind"] == kind}


def one(overlay: str, kind: str, name: str) -> dict:
    found = of_kind(overlay, kind)
    assert name in found, f"{overlay}: no {kind} {name}; have {sorted(found)}"
    return found[name]


def containers(workload: dict) -> list[dict]:
    return workload["spec"]["template"]["spec"]["containers"]


def config_data(overlay: str, name: str) -> dict[str, str]:
    """Data of a generated ConfigMap or Secret, found by its name before the hash suffix."""
    for doc in render(overlay):
        if doc["kind"] in ("ConfigMap", "Secret") and _base(doc["metadata"]["name"]) == name:
            data = doc.get("data") or {}
            if doc["kind"] == "Secret":
                return {k: base64.b64decode(v).decode() for k, v in data.items()}
            return dict(data)
    raise KeyError(f"{overlay}: no ConfigMap or Secret {name}")


def _base(name: str) -> str:
    """Strip kustomize's content hash (ten characters of its vowel-free alphabet)."""
    return HASH_SUFFIX.sub("", name)


def resolved_env(overlay: str, container: dict, secrets: dict[str, dict[str, str]]) -> dict:
    """The environment Kubernetes would give `container`: envFrom first, then env.
    `secrets` stands in for Secrets the overlay leaves to the operator."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(_lookup(overlay, source["configMapRef"]["name"], secrets))
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
            continue
        ref = var["valueFrom"].get("secretKeyRef") or var["valueFrom"].get("configMapKeyRef")
        data = _lookup(overlay, ref["name"], secrets)
        if ref["key"] in data:
            env[var["name"]] = data[ref["key"]]
        else:
            assert ref.get("optional"), f"{var['name']}: {ref['name']} has no key {ref['key']}"
    return env


def _lookup(overlay: str, name: str, secrets: dict[str, dict[str, str]]) -> dict[str, str]:
    try:
        return config_data(overlay, _base(name))
    except KeyError:
        return secrets[_base(name)]
