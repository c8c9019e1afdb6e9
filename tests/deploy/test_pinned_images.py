"""`make images` pins every image production runs by digest (deploy/pin_images.py); here
with a stand-in for the registry, which this machine cannot reach."""

import hashlib
import importlib.util
import shutil
import subprocess

import yaml

from tests.deploy import tools
from tests.deploy.manifests import DEPLOY, containers

spec = importlib.util.spec_from_file_location("pin_images", DEPLOY / "pin_images.py")
pin_images = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pin_images)


def fake_digest(reference: str) -> str:
    return "sha256:" + hashlib.sha256(reference.encode()).hexdigest()


def test_the_base_names_nats_besides_the_projects_own_image():
    assert pin_images.third_party(tools.kubectl()) == {"nats:2.10-alpine"}


def test_pinning_leaves_no_container_of_production_on_a_tag(tmp_path):
    k8s = tmp_path / "k8s"
    shutil.copytree(DEPLOY / "k8s", k8s)
    own = "registry.example.com/team/ticketing:1.2.3"
    component = pin_images.pinned(own, pin_images.third_party(tools.kubectl()), fake_digest)
    pin_images.write(component, k8s / "overlays" / "prod" / "images" / "kustomization.yaml")
    rendered = subprocess.run(
        [*tools.kubectl(), str(k8s / "overlays" / "prod")], capture_output=True, text=True
    )
    assert rendered.returncode == 0, rendered.stderr
    docs = [d for d in yaml.safe_load_all(rendered.stdout) if d]
    workloads = [d for d in docs if "template" in d.get("spec", {})]
    images = {c["image"] for w in workloads for c in containers(w)}
    assert images == {
        f"registry.example.com/team/ticketing@{fake_digest(own)}",
        f"nats@{fake_digest('nats:2.10-alpine')}",
    }
