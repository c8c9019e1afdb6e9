"""What the manifests and compose hand each service is what its settings accept."""

import json
import os
import subprocess
import sys

import pytest

from tests.deploy.manifests import (
    OVERLAYS,
    WITH_DATABASE,
    config_data,
    containers,
    of_kind,
    resolved_env,
)
from tests.support import JWT_PRIVATE_KEY, JWT_PUBLIC_KEY
from ticketing.common.bus.permissions import SERVICES as BUS_USERS
from ticketing.common.settings import DatabaseSettings

# Prod leaves these Secrets to the operator (docs/deploy.md); stand-ins of the right form.
OPERATOR_SECRETS = {
    "ticketing-secrets": {
        "JWT_PUBLIC_KEY": JWT_PUBLIC_KEY,
        "STRIPE_SECRET_KEY": "sk_live_stand_in",
        "STRIPE_WEBHOOK_SECRET": "whsec_stand_in",
        "CSRF_KEY": "operator-csrf-key-0123456789abcdef0123456789",
        "PASS_CODE_SECRET": "operator-pass-code-secret-0123456789abcdef",
        "SMTP_PASSWORD": "relay-stand-in",
    },
    "ticketing-signing-key": {"JWT_PRIVATE_KEY": JWT_PRIVATE_KEY},
    "ticketing-databases": {
        name: f"postgresql://{name}:pw@db.example.com:5432/{name}" for name in WITH_DATABASE
    },
    "ticketing-nats": {name: f"nats-{name}-stand-in" for name in ("admin", *BUS_USERS)},
}

# Runs in a clean process: for each (service, env), exactly `env` is the environment and
# no .env file is read; answers each service's settings, or why it refused them.
CHECK = """
import importlib, inspect, json, os, sys
from pydantic_settings import BaseSettings
answers = []
for service, env in json.load(sys.stdin):
    module = importlib.import_module(f"ticketing.{service}.settings")
    (cls,) = [c for _, c in inspect.getmembers(module, inspect.isclass)
              if issubclass(c, BaseSettings) and c.__module__ == module.__name__]
    os.environ.clear()
    os.environ.update(env)
    try:
        settings = cls(_env_file=None)
        answers.append({k: str(v) for k, v in settings.model_dump().items()})
    except Exception as error:
        answers.append({"refused": f"{service}: {error}"})
print(json.dumps(answers))
"""


def settings_for(jobs: list[tuple[str, dict[str, str]]]) -> list[dict[str, str]]:
    done = subprocess.run(
        [sys.executable, "-c", CHECK],
        input=json.dumps(jobs),
        # PYTHONPATH only so a checkout run from source is the code checked
        env={"PATH": "/usr/bin:/bin", **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"}},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    answers = json.loads(done.stdout)
    refused = [a["refused"] for a in answers if "refused" in a]
    assert not refused, "\n".join(refused)
    return answers


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_deployment_environment_is_accepted_by_its_service(overlay):
    jobs = [
        (name, resolved_env(overlay, containers(deployment)[0], OPERATOR_SECRETS))
        for name, deployment in of_kind(overlay, "Deployment").items()
    ]
    for settings in settings_for(jobs):
        assert settings["cookie_secure"] == ("False" if overlay == "dev" else "True")


def test_prod_charges_cards_with_stripe_and_dev_with_the_sandbox():
    jobs = []
    for overlay in ("dev", "prod"):
        (container,) = containers(of_kind(overlay, "Deployment")["payments"])
        jobs.append(("payments", resolved_env(overlay, container, OPERATOR_SECRETS)))
    dev, prod = settings_for(jobs)
    assert (dev["payment_provider"], prod["payment_provider"]) == ("sandbox", "stripe")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_migration_job_environment_is_accepted_too(overlay):
    """`ticketing migrate` reads only DATABASE_URL, and the Job is given no key."""
    job = of_kind(overlay, "Job")["migrate"]
    for container in containers(job):
        env = resolved_env(overlay, container, OPERATOR_SECRETS)
        assert DatabaseSettings(database_url=env["DATABASE_URL"], _env_file=None)
        assert not [k for k in env if k.startswith("JWT_") or k.startswith("STRIPE_SECRET")]


def test_dev_secrets_point_each_service_at_its_own_database_as_its_own_role():
    databases = config_data("dev", "ticketing-databases")
    passwords = config_data("dev", "postgres")
    (postgres,) = containers(of_kind("dev", "StatefulSet")["postgres"])
    server_env = resolved_env("dev", postgres, {})
    for name, url in databases.items():
        assert url == f"postgresql://{name}:{passwords[name]}@postgres:5432/{name}"
        assert server_env[f"{name.upper()}_DB_PASSWORD"] == passwords[name], "init creates it"
        assert passwords[name] != passwords["password"], "never the superuser's password"
    assert server_env["POSTGRES_USER"] not in {*databases, "ticketing"}
