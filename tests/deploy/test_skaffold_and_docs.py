"""skaffold builds the image the manifests name; the docs name only files that exist."""

import re
import subprocess

import yaml

from tests.deploy.manifests import DEPLOY, ROOT, containers, of_kind

SKAFFOLD = yaml.safe_load((DEPLOY / "skaffold.yaml").read_text())


def test_skaffold_builds_the_one_image_from_the_dockerfile():
    (artifact,) = SKAFFOLD["build"]["artifacts"]
    assert SKAFFOLD["apiVersion"].startswith("skaffold/v4")
    # skaffold resolves paths from the working directory: the repository root.
    context = ROOT / artifact["context"]
    assert (context / artifact["docker"]["dockerfile"]).resolve() == DEPLOY / "Dockerfile"
    assert SKAFFOLD["build"]["local"]["push"] is False


def test_skaffold_replaces_the_image_of_every_ticketing_container():
    """skaffold swaps in its tag where the image name matches, whatever tag the overlay set."""
    (artifact,) = SKAFFOLD["build"]["artifacts"]
    workloads = [*of_kind("dev", "Deployment").values(), *of_kind("dev", "Job").values()]
    images = {c["image"].split(":")[0] for w in workloads for c in containers(w)}
    assert images == {artifact["image"]}


def test_skaffold_deploys_the_dev_overlay_and_can_recreate_the_job():
    assert [ROOT / p for p in SKAFFOLD["manifests"]["kustomize"]["paths"]] == [
        DEPLOY / "k8s" / "overlays" / "dev"
    ]
    assert "--force" in SKAFFOLD["deploy"]["kubectl"]["flags"]["apply"]


def test_the_kind_cluster_maps_http_to_the_laptop_for_ingress_nginx():
    cluster = yaml.safe_load((DEPLOY / "kind-cluster.yaml").read_text())
    (node,) = cluster["nodes"]
    assert {(m["containerPort"], m["hostPort"]) for m in node["extraPortMappings"]} == {
        (80, 80),
        (443, 443),
    }
    assert 'node-labels: "ingress-ready=true"' in node["kubeadmConfigPatches"][0]


def test_every_file_the_deploy_docs_name_exists():
    text = (ROOT / "docs" / "deploy.md").read_text()
    named = set(re.findall(r"(?<![\w/.])((?:deploy|tests/deploy)/[\w./-]*\w)", text))
    named.discard("deploy/.env")  # the copy of .env.example the reader makes
    assert len(named) > 10
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert not missing, missing


def test_no_shipped_file_trusts_every_proxy():
    """`FORWARDED_ALLOW_IPS=*` believes any client's X-Forwarded-For; nothing we ship
    (manifests, compose, docs, code, examples) may say it."""
    shipped = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    # `*` alone, not a YAML alias such as `*nginx-address`
    anywhere = re.compile(r"""FORWARDED_ALLOW_IPS["']?\s*[:=]\s*["']?\*(?![\w-])""", re.I)
    found = [
        path
        for path in shipped
        if not path.startswith("tests/")
        and (ROOT / path).is_file()
        and anywhere.search((ROOT / path).read_text(errors="ignore"))
    ]
    assert not found
