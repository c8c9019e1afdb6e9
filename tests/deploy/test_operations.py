"""The manifests follow production conventions: spread replicas, scrapeable metrics,
requests an autoscaler can work with, and a NATS that stops without dropping its clients."""

import shlex
import subprocess
import time

import pytest

from tests.deploy.manifests import OVERLAYS, containers, of_kind, one
from ticketing.runtime.nats import find_nats_server
from ticketing.runtime.ports import free_port


def _millicores(quantity: str) -> int:
    return int(quantity[:-1]) if quantity.endswith("m") else int(float(quantity) * 1000)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_spreads_its_replicas_over_nodes_without_blocking_scheduling(overlay):
    for name, deployment in of_kind(overlay, "Deployment").items():
        spread = deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
        keys = {rule["topologyKey"] for rule in spread}
        assert "kubernetes.io/hostname" in keys, name
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        for rule in spread:
            assert rule["whenUnsatisfiable"] == "ScheduleAnyway", name  # one-node clusters
            assert rule["labelSelector"]["matchLabels"].items() <= labels.items(), name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_prometheus_is_told_to_scrape_each_service_on_its_metrics_port(overlay):
    for name, deployment in of_kind(overlay, "Deployment").items():
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        (container,) = containers(deployment)
        ports = {port["name"]: port["containerPort"] for port in container["ports"]}
        assert annotations["prometheus.io/scrape"] == "true", name
        assert annotations["prometheus.io/port"] == str(ports["metrics"]), name
        assert annotations["prometheus.io/path"] == "/metrics", name


def test_autoscaled_services_request_enough_cpu_that_70_percent_is_load_not_idle():
    """At a 50m request, 70 % is 35m: an idle Python process with its bus loops reaches that,
    and every service would sit at its maximum replica count."""
    autoscalers = of_kind("prod", "HorizontalPodAutoscaler")
    for name, deployment in of_kind("prod", "Deployment").items():
        (container,) = containers(deployment)
        request = _millicores(container["resources"]["requests"]["cpu"])
        limit = _millicores(container["resources"]["limits"]["cpu"])
        assert 100 <= request <= limit, name
        (metric,) = autoscalers[name]["spec"]["metrics"]
        assert metric["resource"]["target"]["averageUtilization"] <= 80, name


def _nats_container() -> tuple[dict, dict]:
    statefulset = one("prod", "StatefulSet", "nats")
    (container,) = containers(statefulset)
    return statefulset, container


def test_nats_goes_lame_duck_before_it_stops_using_the_pid_file_it_writes():
    statefulset, container = _nats_container()
    pid_args = [a for a in container["args"] if a.startswith("--pid=")]
    assert len(pid_args) == 1
    pid_file = pid_args[0].split("=", 1)[1]
    command = container["lifecycle"]["preStop"]["exec"]["command"]
    assert f"--signal ldm={pid_file}" in command[-1]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    pid_dir = pid_file.rsplit("/", 1)[0]
    assert pid_dir in mounts, "the root filesystem is read-only: the pid file needs a volume"
    volumes = {v["name"]: v for v in statefulset["spec"]["template"]["spec"]["volumes"]}
    assert "emptyDir" in volumes[mounts[pid_dir]]
    sleep = int(command[-1].rsplit("sleep", 1)[1])
    assert sleep < statefulset["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]


def test_the_pre_stop_command_puts_a_real_nats_server_in_lame_duck_mode(tmp_path):
    """The manifest's own command, its paths moved into a temporary folder and the sleep
    left out, against the nats-server the project ships."""
    _, container = _nats_container()
    pid_file = tmp_path / "nats.pid"
    signal = container["lifecycle"]["preStop"]["exec"]["command"][-1].split(" && ")[0]
    manifest_pid = next(a for a in container["args"] if a.startswith("--pid=")).split("=")[1]
    argv = shlex.split(signal.replace(manifest_pid, str(pid_file)))
    binary = find_nats_server()
    log = tmp_path / "nats.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [binary, "-a", "127.0.0.1", "-p", str(free_port()), "--pid", str(pid_file)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 10
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert argv[0] == "nats-server"
        subprocess.run([binary, *argv[1:]], check=True, timeout=10)
        while "lame duck" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "Entering lame duck mode" in log.read_text()
    finally:
        server.kill()
        server.wait()
