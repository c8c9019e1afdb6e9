"""compose.yaml is well-formed, fails fast without its secrets, and wires what DESIGN.md says."""

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

COMPOSE = DEPLOY / "compose.yaml"
KEYS = env_lines(JWT_PRIVATE_KEY, JWT_PUBLIC_KEY)
BACKING = {"postgres", "nats", "nginx"}


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
    env_file.write_text(f"{KEYS}\nPOSTGRES_PASSWORD=pw\n")
    done = compose_config(env_file)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_compose_file_is_yaml_with_every_service():
    """Needs no tool: the file parses and names everything."""
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert set(services) == set(SERVICES) | BACKING


@pytest.mark.parametrize("variable", ["JWT_PRIVATE_KEY", "JWT_PUBLIC_KEY", "POSTGRES_PASSWORD"])
def test_a_missing_secret_stops_compose_and_names_it(tmp_path, variable):
    env_file = tmp_path / ".env"
    lines = [*KEYS.splitlines(), "POSTGRES_PASSWORD=pw"]
    env_file.write_text("".join(f"{line}\n" for line in lines if not line.startswith(variable)))
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
        assert env["DATABASE_URL"] == f"postgresql://ticketing:pw@postgres:5432/{name}"
        assert env["JWT_PUBLIC_KEY"] == JWT_PUBLIC_KEY.strip().replace("\n", "\\n")
        assert ("JWT_PRIVATE_KEY" in env) == (name == "auth"), name
        assert env["NATS_URL"] == "nats://nats:4222"
        assert {"postgres", "nats"} <= set(config["services"][name]["depends_on"])
    web = config["services"]["web"]["environment"]
    assert web["API_BASE_URL"] == "http://nginx:80"
    assert not {"DATABASE_URL", "JWT_PUBLIC_KEY", "JWT_PRIVATE_KEY"} & set(web)


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


def test_nats_runs_jetstream_on_a_volume(config):
    nats = config["services"]["nats"]
    assert "--jetstream" in nats["command"]
    store = next(a.split("=", 1)[1] for a in nats["command"] if a.startswith("--store_dir="))
    assert {(v["type"], v["target"]) for v in nats["volumes"]} == {("volume", store)}


def test_nginx_fronts_the_public_services_with_the_routing_config(config):
    nginx = config["services"]["nginx"]
    (mount,) = nginx["volumes"]
    assert Path(mount["source"]) == DEPLOY / "nginx.conf"
    assert mount["target"] == "/etc/nginx/nginx.conf"
    assert set(nginx["depends_on"]) == {"auth", "tickets", "orders", "payments", "web"}
    assert nginx["ports"][0]["target"] == 80
