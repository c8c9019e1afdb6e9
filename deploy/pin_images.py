"""Pin every image the production overlay runs to its digest: `make images` builds and
pushes the project's image, then runs this. A tag can be moved to other contents; a digest
names one image for good, so what was tested is what runs.

    python deploy/pin_images.py REGISTRY/ticketing:TAG

The digests are asked of the registry (`docker buildx imagetools inspect`) and written to
k8s/overlays/prod/images/kustomization.yaml, a component holding nothing else, so the
overlay's own file and its comments stay as they are. Commit the result.
"""

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

K8S = Path(__file__).parent / "k8s"
PROD = K8S / "overlays" / "prod"
COMPONENT = PROD / "images" / "kustomization.yaml"
OWN_IMAGE = "ticketing"  # the name the base manifests use for the project's image

HEADER = """\
# Written by `make images` (deploy/pin_images.py): every image production runs, by digest.
# Edit the tags in the base manifests, not here, and run `make images` again.
"""


def registry_digest(reference: str) -> str:
    done = subprocess.run(
        ["docker", "buildx", "imagetools", "inspect", reference, "--format", "{{json .Manifest}}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)["digest"]


def images_in(manifests: list[dict]) -> set[str]:
    """Every container image the rendered manifests name."""
    found = set()
    for doc in manifests:
        spec = doc.get("spec", {})
        pod = spec.get("template", {}).get("spec", spec.get("jobTemplate", {}))
        for container in [*pod.get("containers", []), *pod.get("initContainers", [])]:
            found.add(container["image"])
    return found


def _split(reference: str) -> tuple[str, str]:
    name, _, tag = reference.rpartition(":")
    if "/" in tag or not name:  # a registry port, not a tag
        return reference, "latest"
    return name, tag


def pinned(own: str, third_party: set[str], digest: Callable[[str], str]) -> dict:
    """The component: the project's image from `own`, the others where their tags point now."""
    own_name, _ = _split(own)
    entries = [{"name": OWN_IMAGE, "newName": own_name, "digest": digest(own)}]
    for reference in sorted(third_party):
        name, _ = _split(reference)
        entries.append({"name": name, "digest": digest(reference)})
    return {
        "apiVersion": "kustomize.config.k8s.io/v1alpha1",
        "kind": "Component",
        "images": entries,
    }


def write(component: dict, path: Path = COMPONENT) -> None:
    path.write_text(HEADER + yaml.safe_dump(component, sort_keys=False))


def third_party(kubectl: list[str]) -> set[str]:
    """The images the base names besides the project's own: the base, not the overlay, so a
    second run sees the tags again, not the digests the first one wrote."""
    rendered = subprocess.run(
        [*kubectl, str(K8S / "base")], capture_output=True, text=True, check=True
    ).stdout
    manifests = [doc for doc in yaml.safe_load_all(rendered) if doc]
    return {ref for ref in images_in(manifests) if _split(ref)[0] != OWN_IMAGE}


def main(own: str) -> None:
    others = third_party(["kubectl", "kustomize"])
    write(pinned(own, others, registry_digest))
    print(f"pinned {len(others) + 1} image(s) in {COMPONENT}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
