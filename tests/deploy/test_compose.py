"""compose.yaml is well-formed, fails fast without its secrets, and wires what DESIGN.md says."""

import ipaddress
import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy import tools
from tests.deploy.manifests import DEPLOY, ROOT, SERVICES, WITH_DATABASE
from tests.deploy.test_settings import settings_for
from tests.support import JWT_PRIVATE_KEY, JWT_PUBLIC_KEY
from ticketing.common.keys import env_lines
from ticketing.runtime.nats import USERS, container_config, password_variable

COMPOSE = DEPLOY / "compose.yaml"
KEYS = env_lines(JWT_PRIVATE_KEY, JWT_PUBLIC_KEY)
BACKING = {"postgres", "nats", "streams", "nginx", "mailpit"}
# The superuser's password, each service role's and each bus user's, as deploy/.env gives them.
PASSWORDS = {"POSTGRES_PASSWORD": "pw"} | {
    f"{name.upper()}_DB_PASSWORD": f"{name}-pw" for name in WITH_DATABASE
}
NATS_PASSWORDS = {password_variable(user): f"nats-{user}-pw" for user in USERS}
CSRF_KEY = "compose-csrf-key-0123456789abcdef0123456789"
PASS_CODE_SECRET = "compose-pass-code-secret-0123456789abcdef"
REQUIRED = (
    dict(line.split("=", 1) for line in KEYS.splitlines())
    | {"CSRF_KEY": CSRF_KEY, "PASS_CODE_SECRET": PASS_CODE_SECRET}
    | PASSWORDS
    | NATS_PASSWORDS
)


def compose_config(env_file: Path, **extra: str) -> subprocess.CompletedProcess:
    """`compose config` with exactly `env_file` and no compose variables from our own
    environment, so a developer's deploy/.env or exported keys change nothing."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "TMPDIR")}
    command = [*tools.compose(), "--env-file", str(env_file), "-f", str(COMPOSE)]
    return subprocess.run(
        [*command, "config", "--format", "json"],
        env={**env, **extra},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> dict:
    env_file = tmp_path_factory.mktemp("compose") / ".env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in REQUIRED.items()))
    done = compose_config(env_file)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_compose_file_is_yaml_with_every_service():
    """Needs no tool: the file parses and names everything."""
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert set(services) == set(SERVICES) | BACKING


@pytest.mark.parametrize(
    "variable",
    [
        "JWT_PRIVATE_KEY",
        "JWT_PUBLIC_KEY",
        "CSRF_KEY",
        "PASS_CODE_SECRET",
        *PASSWORDS,
        "NATS_PASSWORD_ORDERS",
        "NATS_PASSWORD_PASSES",
    ],
)
def test_a_missing_secret_stops_compose_and_names_it(tmp_path, variable):
    env_file = tmp_path / ".env"
    others = dict(REQUIRED)
    del others[variable]
    env_file.write_text("".join(f"{k}={v}\n" for k, v in others.items()))
    done = compose_config(env_file)
    assert done.returncode != 0
    assert f"set {variable}" in done.stderr


def test_every_service_runs_the_one_image_with_its_name_as_the_command(config):
    for name in SERVICES:
        service = config["services"][name]
        assert service["image"] == "ticketing:local"
        assert service["build"]["dockerfile"] == "deploy/Dockerfile"
        assert Path(service["build"]["context"]).resolve() == ROOT
        assert service["command"] == [name]


def test_each_service_gets_its_own_database_the_public_key_and_only_auth_the_private(config):
    for name in WITH_DATABASE:
        env = config["services"][name]["environment"]
        role_password = PASSWORDS[f"{name.upper()}_DB_PASSWORD"]
        assert env["DATABASE_URL"] == f"postgresql://{name}:{role_password}@postgres:5432/{name}"
        assert "POSTGRES_PASSWORD" not in env
        assert env["JWT_PUBLIC_KEY"] == JWT_PUBLIC_KEY.strip().replace("\n", "\\n")
        assert ("JWT_PRIVATE_KEY" in env) == (name == "auth"), name
        assert ("PASS_CODE_SECRET" in env) == (name == "passes"), name
        assert ("STRIPE_WEBHOOK_SECRET" in env) == (name == "payments"), name
        assert env["NATS_URL"] == "nats://nats:4222"
        assert (env["NATS_USER"], env["NATS_PASSWORD"]) == (name, f"nats-{name}-pw")
        assert {"postgres", "nats"} <= set(config["services"][name]["depends_on"])
    web = config["services"]["web"]["environment"]
    assert web["API_BASE_URL"] == "http://nginx:80"
    assert not {
        "DATABASE_URL",
        "JWT_PUBLIC_KEY",
        "JWT_PRIVATE_KEY",
        "NATS_USER",
        "NATS_PASSWORD",
    } & set(web)


def test_the_environment_compose_gives_is_accepted_by_each_service(config):
    jobs = [
        (name, {k: str(v) for k, v in config["services"][name]["environment"].items()})
        for name in SERVICES
    ]
    for settings in settings_for(jobs):
        assert settings["cookie_secure"] == "False", "compose serves plain http"


def test_postgres_creates_each_service_database_once(config):
    (init,) = [
        v
        for v in config["services"]["postgres"]["volumes"]
        if "docker-entrypoint-initdb.d" in v["target"]
    ]
    sql = Path(init["source"]).read_text()
    created = {
        line.split()[2].rstrip(";") for line in sql.splitlines() if "CREATE DATABASE" in line
    }
    assert created == set(WITH_DATABASE)
    assert config["services"]["postgres"]["healthcheck"]["test"][1] == "pg_isready"
    env = config["services"]["postgres"]["environment"]
    assert {k: env[k] for k in PASSWORDS} == PASSWORDS, "what init-databases.sql reads"


def test_the_services_trust_forwarded_headers_from_nginx_alone(config):
    """nginx has a fixed address on a fixed subnet; `*` would let any client that reaches
    a service name its own address in X-Forwarded-For."""
    (network,) = config["networks"].values()
    (subnet,) = [ipaddress.ip_network(c["subnet"]) for c in network["ipam"]["config"]]
    nginx = config["services"]["nginx"]["networks"]["default"]["ipv4_address"]
    assert ipaddress.ip_address(nginx) in subnet
    for name in SERVICES:
        env = config["services"][name]["environment"]
        assert env["FORWARDED_ALLOW_IPS"] == nginx, name
        assert env["METRICS_PORT"] == "9000", name


def test_nothing_publishes_a_port_but_nginx_and_mailpits_page_on_this_machine(config):
    published = {
        name: service["ports"] for name, service in config["services"].items() if "ports" in service
    }
    assert set(published) == {"nginx", "mailpit"}
    (page,) = published["mailpit"]
    assert (page["host_ip"], page["target"], page["published"]) == ("127.0.0.1", 8025, "8025")


def test_notifications_sends_to_mailpit_unless_given_a_relay(config, tmp_path):
    """Mailpit keeps what it is sent; only notifications is given the relay's password."""
    env = config["services"]["notifications"]["environment"]
    assert env["SMTP_URL"] == "smtp://mailpit:1025"
    assert env["SITE_URL"] == "http://localhost:8080"
    assert config["services"]["notifications"]["depends_on"]["mailpit"] == {
        "condition": "service_healthy",
        "required": True,
    }
    mailpit = config["services"]["mailpit"]
    name, _, tag = mailpit["image"].partition(":")
    assert name == "axllent/mailpit" and tag not in ("", "latest"), "pinned like the others"
    assert mailpit["healthcheck"]["test"] == ["CMD", "/mailpit", "readyz"]
    env_file = tmp_path / ".env"
    relay = {"SMTP_URL": "smtps://relay.example.com:465", "SMTP_PASSWORD": "relay-pw"}
    env_file.write_text("".join(f"{k}={v}\n" for k, v in (REQUIRED | relay).items()))
    done = compose_config(env_file)
    assert done.returncode == 0, done.stderr
    services = json.loads(done.stdout)["services"]
    assert services["notifications"]["environment"]["SMTP_URL"] == relay["SMTP_URL"]
    for name in SERVICES:
        assert ("SMTP_PASSWORD" in services[name]["environment"]) == (name == "notifications")


def test_nats_runs_jetstream_on_a_volume(config):
    nats = config["services"]["nats"]
    assert "--jetstream" in nats["command"]
    store = next(a.split("=", 1)[1] for a in nats["command"] if a.startswith("--store_dir="))
    assert ("volume", store) in {(v["type"], v["target"]) for v in nats["volumes"]}


def test_nats_admits_only_the_generated_users(config):
    nats = config["services"]["nats"]
    path = next(a.split("=", 1)[1] for a in nats["command"] if a.startswith("--config="))
    (mount,) = [v for v in nats["volumes"] if v["target"] == path]
    assert Path(mount["source"]).read_text() == container_config()
    assert {k: v for k, v in nats["environment"].items() if k in NATS_PASSWORDS} == NATS_PASSWORDS


def test_the_streams_are_made_as_the_nats_admin_before_any_service_on_the_bus_starts(config):
    streams = config["services"]["streams"]
    assert streams["entrypoint"] == ["ticketing", "streams"]
    assert streams["environment"]["NATS_USER"] == "admin"
    assert streams["environment"]["NATS_PASSWORD"] == NATS_PASSWORDS[password_variable("admin")]
    for name in WITH_DATABASE:
        waits_for = config["services"][name]["depends_on"]["streams"]
        assert waits_for["condition"] == "service_completed_successfully", name
        assert config["services"][name]["environment"]["NATS_USER"] == name


def test_nginx_fronts_the_public_services_with_the_routing_config(config):
    nginx = config["services"]["nginx"]
    (mount,) = nginx["volumes"]
    assert Path(mount["source"]) == DEPLOY / "nginx.conf"
    assert mount["target"] == "/etc/nginx/nginx.conf"
    assert set(nginx["depends_on"]) == {"auth", "tickets", "orders", "payments", "passes", "web"}
    assert nginx["ports"][0]["target"] == 80


def test_payments_sends_its_sandbox_webhooks_to_itself_unless_given_stripes_secret(
    config, tmp_path
):
    payments = config["services"]["payments"]["environment"]
    assert payments["SANDBOX_WEBHOOK_URL"] == "http://127.0.0.1:8000/api/payments/webhook"
    assert payments["STRIPE_WEBHOOK_SECRET"] == ""  # optional with the sandbox
    assert (payments["PLATFORM_FEE_PERCENT"], payments["PAYOUT_HOLD_DAYS"]) == ("5", "7")
    assert "STRIPE_PUBLISHABLE_KEY" not in payments
    env_file = tmp_path / ".env"
    given = {"STRIPE_WEBHOOK_SECRET": "whsec_given", "STRIPE_PUBLISHABLE_KEY": "pk_test_given"}
    env_file.write_text("".join(f"{k}={v}\n" for k, v in (REQUIRED | given).items()))
    done = compose_config(env_file)
    assert done.returncode == 0, done.stderr
    services = json.loads(done.stdout)["services"]
    assert services["payments"]["environment"]["STRIPE_WEBHOOK_SECRET"] == "whsec_given"
    assert services["web"]["environment"]["STRIPE_PUBLISHABLE_KEY"] == "pk_test_given"
    assert "STRIPE_WEBHOOK_SECRET" not in services["web"]["environment"]
