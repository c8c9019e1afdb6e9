"""The NetworkPolicies, evaluated as Kubernetes would: who may reach whom, on which port.

A small evaluator of the NetworkPolicy rules (pod and namespace selectors, ipBlock, named
and numbered ports) over the rendered overlays, then the connections DESIGN.md needs and
a list of ones it must never allow."""

import ipaddress
from dataclasses import dataclass, field

import pytest

from tests.deploy.manifests import OVERLAYS, SERVICES, WITH_DATABASE, containers, of_kind

NAMESPACE = "ticketing"
PUBLIC = ("auth", "tickets", "orders", "payments", "passes", "web")  # the Ingress's backends


@dataclass(frozen=True)
class Pod:
    namespace: str
    labels: dict = field(hash=False)
    ip: str = "10.244.0.99"
    ports: dict = field(default_factory=dict, hash=False)  # container port name → number


def external(ip: str) -> Pod:
    """An address outside the cluster: only an ipBlock can match it."""
    return Pod("", {}, ip)


CONTROLLER = Pod("ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"}, "10.244.0.7")
PROMETHEUS = Pod("monitoring", {"app.kubernetes.io/name": "prometheus"}, "10.244.0.8")
STRANGER = Pod("default", {"app": "curl"}, "10.244.0.9")
KUBE_DNS = Pod("kube-system", {"k8s-app": "kube-dns"}, "10.244.0.2")
STRIPE = external("203.0.113.5")
RELAY = external("198.51.100.25")  # the SMTP relay production names
MANAGED_POSTGRES = external("10.20.30.40")


def pods(overlay: str) -> dict[str, Pod]:
    found = {}
    for kind in ("Deployment", "StatefulSet", "Job"):
        for name, workload in of_kind(overlay, kind).items():
            template = workload["spec"]["template"]
            ports = {
                port["name"]: port["containerPort"]
                for container in containers(workload)
                for port in container.get("ports", [])
            }
            found[name] = Pod(NAMESPACE, template["metadata"]["labels"], ports=ports)
    return found


def _selects(selector: dict, labels: dict) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values")
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def _peer_matches(peer: dict, other: Pod) -> bool:
    if "ipBlock" in peer:
        address = ipaddress.ip_address(other.ip)
        block = peer["ipBlock"]
        return address in ipaddress.ip_network(block["cidr"]) and not any(
            address in ipaddress.ip_network(cidr) for cidr in block.get("except", [])
        )
    if not other.namespace:
        return False  # outside the cluster: no selector matches
    if "namespaceSelector" in peer:
        namespace_labels = {"kubernetes.io/metadata.name": other.namespace}
        if not _selects(peer["namespaceSelector"], namespace_labels):
            return False
    elif other.namespace != NAMESPACE:
        return False  # a podSelector alone means the policy's own namespace
    return _selects(peer.get("podSelector", {}), other.labels)


def _port_matches(rule_ports: list | None, port: int | str, protocol: str, target: Pod) -> bool:
    if not rule_ports:
        return True
    number = target.ports.get(port, port) if isinstance(port, str) else port
    for rule in rule_ports:
        wanted = rule.get("port")
        wanted = target.ports.get(wanted, wanted) if isinstance(wanted, str) else wanted
        if rule.get("protocol", "TCP") == protocol and wanted in (None, number):
            return True
    return False


def _allowed(overlay: str, direction: str, subject: Pod, other: Pod, port, protocol, target):
    if subject.namespace != NAMESPACE:
        return True  # other namespaces are not ours to restrict: assume they allow
    key = "ingress" if direction == "Ingress" else "egress"
    peers_key = "from" if direction == "Ingress" else "to"
    policies = [
        policy["spec"]
        for policy in of_kind(overlay, "NetworkPolicy").values()
        if direction in policy["spec"]["policyTypes"]
        and _selects(policy["spec"]["podSelector"], subject.labels)
    ]
    if not policies:
        return True
    return any(
        (peers_key not in rule or any(_peer_matches(p, other) for p in rule[peers_key]))
        and _port_matches(rule.get("ports"), port, protocol, target)
        for policy in policies
        for rule in policy.get(key, [])
    )


def reaches(overlay: str, source: Pod, target: Pod, port: int | str, protocol="TCP") -> bool:
    """Both the source's egress and the target's ingress let the connection through."""
    return _allowed(overlay, "Egress", source, target, port, protocol, target) and _allowed(
        overlay, "Ingress", target, source, port, protocol, target
    )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_everything_in_the_namespace_is_denied_unless_allowed(overlay):
    policy = of_kind(overlay, "NetworkPolicy")["default-deny"]["spec"]
    assert policy["podSelector"] == {}
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in policy and "egress" not in policy


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_connections_the_system_needs_are_allowed(overlay):
    ours = pods(overlay)
    nats = ours["nats"]
    database = ours["postgres"] if overlay == "dev" else MANAGED_POSTGRES
    for name in PUBLIC:
        assert reaches(overlay, CONTROLLER, ours[name], "http"), name
    for name in SERVICES:
        assert reaches(overlay, PROMETHEUS, ours[name], "metrics"), name
    for name in WITH_DATABASE:
        assert reaches(overlay, ours[name], nats, 4222), name
        assert reaches(overlay, ours[name], database, 5432), name
    assert reaches(overlay, ours["migrate"], database, 5432)
    assert reaches(overlay, ours["streams"], nats, 4222)
    assert reaches(overlay, ours["payments"], STRIPE, 443)
    # Stripe's webhooks come in through the controller like any visitor (/api/payments)
    assert reaches(overlay, CONTROLLER, ours["payments"], "http")
    assert reaches(overlay, ours["web"], Pod("ingress-nginx", CONTROLLER.labels, ports={}), 80)
    for port in (25, 465, 587):  # smtp:// relay, smtps://, submission with STARTTLS
        assert reaches(overlay, ours["notifications"], RELAY, port), port
    if overlay == "dev":
        assert reaches(overlay, ours["notifications"], ours["mailpit"], "smtp")
    for name, pod in ours.items():
        for protocol in ("UDP", "TCP"):
            assert reaches(overlay, pod, KUBE_DNS, 53, protocol), name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_nothing_else_is_allowed(overlay):
    ours = pods(overlay)
    nats = ours["nats"]
    denied = [
        (CONTROLLER, ours["expiration"], "http"),
        (CONTROLLER, nats, 4222),
        (STRANGER, ours["web"], "http"),
        (STRANGER, ours["auth"], "metrics"),
        (PROMETHEUS, ours["auth"], "http"),
        (ours["web"], nats, 4222),
        (ours["web"], STRIPE, 443),
        (ours["web"], MANAGED_POSTGRES, 5432),
        (ours["orders"], STRIPE, 443),
        (ours["passes"], STRIPE, 443),
        (ours["passes"], ours["tickets"], "http"),
        (ours["payments"], external("10.0.0.5"), 443),
        (ours["auth"], ours["tickets"], "http"),
        (ours["migrate"], nats, 4222),
        (ours["streams"], MANAGED_POSTGRES, 5432),
        (ours["streams"], STRIPE, 443),
        (nats, MANAGED_POSTGRES, 5432),
        (ours["orders"], external("8.8.8.8"), 53),
        (ours["notifications"], STRIPE, 443),
        (ours["notifications"], ours["web"], "http"),
        (ours["orders"], RELAY, 587),
        (ours["payments"], RELAY, 25),
        (CONTROLLER, ours["notifications"], "http"),
    ]
    denied += [(CONTROLLER, ours[name], "metrics") for name in SERVICES]
    if overlay == "dev":
        denied += [(ours["web"], ours["postgres"], 5432), (CONTROLLER, ours["postgres"], 5432)]
        mailpit = ours["mailpit"]
        denied += [
            (ours["orders"], mailpit, "smtp"),
            (CONTROLLER, mailpit, "ui"),
            (STRANGER, mailpit, "ui"),
            (ours["notifications"], mailpit, "ui"),
            (mailpit, RELAY, 25),
        ]
    allowed = [(s.labels, t.labels or t.ip, p) for s, t, p in denied if reaches(overlay, s, t, p)]
    assert not allowed


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_policy_names_ports_the_pods_have(overlay):
    """A misspelt port name would silently allow nothing."""
    names = {name for pod in pods(overlay).values() for name in pod.ports}
    for policy in of_kind(overlay, "NetworkPolicy").values():
        for direction in ("ingress", "egress"):
            for rule in policy["spec"].get(direction, []):
                for port in rule.get("ports", []):
                    assert isinstance(port["port"], int) or port["port"] in names, port
