"""The kustomize overlays render, pass the Kubernetes schemas offline and follow DESIGN.md."""

import ipaddress

import pytest
import yaml
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from tests.deploy import tools
from tests.deploy.manifests import (
    DEPLOY,
    OVERLAYS,
    ROUTES,
    SERVICES,
    WITH_DATABASE,
    config_data,
    containers,
    of_kind,
    one,
    render,
)
from ticketing.common.bus.permissions import SERVICES as BUS_USERS
from ticketing.runtime.nats import USERS, container_config, password_variable
from ticketing.runtime.services import SERVICES as RUNTIME_SERVICES

# The oldest Kubernetes release still in wide use by managed offerings, and the newest
# whose schemas kubernetes-validate ships.
OLDEST_KUBERNETES = "1.30.0"


@pytest.fixture(scope="module")
def kubernetes_validate():
    try:
        import kubernetes_validate
    except ImportError:
        tools.missing("kubernetes-validate")
    return kubernetes_validate


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_and_every_object_passes_strict_schema_validation(
    overlay, kubernetes_validate
):
    failures = []
    for version in (OLDEST_KUBERNETES, kubernetes_validate.latest_version()):
        for doc in render(overlay):
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                name = f"{doc['kind']}/{doc['metadata']['name']}"
                failures.append(f"{version} {name}: {error.message}")
    assert not failures, "\n".join(failures)


def test_the_schema_check_rejects_a_typo(kubernetes_validate):
    """Strict mode is what catches `readinesProbe`: without it the check proves little."""
    deployment = of_kind("dev", "Deployment")["auth"]
    broken = {**deployment, "spec": {**deployment["spec"], "replicas": "two"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, OLDEST_KUBERNETES, strict=True)
    container = {**containers(deployment)[0], "readinesProbe": {}}
    pod = {**deployment["spec"]["template"]["spec"], "containers": [container]}
    template = {**deployment["spec"]["template"], "spec": pod}
    typo = {**deployment, "spec": {**deployment["spec"], "template": template}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(typo, OLDEST_KUBERNETES, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_is_a_deployment_with_a_service_and_probes(overlay):
    deployments, services = of_kind(overlay, "Deployment"), of_kind(overlay, "Service")
    assert set(deployments) == set(SERVICES)
    for name in SERVICES:
        (container,) = containers(deployments[name])
        assert container["args"] == [name], "ENTRYPOINT is `ticketing serve`; args name it"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert {"cpu", "memory"} <= set(container["resources"]["requests"])
        assert {"cpu", "memory"} <= set(container["resources"]["limits"])
        assert container["ports"] == [
            {"name": "http", "containerPort": 8000},
            {"name": "metrics", "containerPort": 9000},
        ]
        assert services[name]["spec"]["selector"] == {"app.kubernetes.io/name": name}
        assert [p["name"] for p in services[name]["spec"]["ports"]] == ["http", "metrics"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_metrics_are_served_on_their_own_port_that_the_ingress_never_routes(overlay):
    config = _configmap(overlay)
    for deployment in of_kind(overlay, "Deployment").values():
        (container,) = containers(deployment)
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports["metrics"] == int(config["METRICS_PORT"]) != ports["http"]
    ingress = one(overlay, "Ingress", "ticketing")
    backends = [
        p["backend"]["service"]["port"] for p in ingress["spec"]["rules"][0]["http"]["paths"]
    ]
    assert all(port == {"name": "http"} for port in backends)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_services_believe_forwarded_headers_from_the_ingress_controllers_pods_only(overlay):
    """Uvicorn reads FORWARDED_ALLOW_IPS as addresses and CIDRs; `*` would let any client
    name its own address in X-Forwarded-For."""
    trusted = _configmap(overlay)["FORWARDED_ALLOW_IPS"].split(",")
    networks = [ipaddress.ip_network(item.strip()) for item in trusted]
    assert all(network.prefixlen >= 8 for network in networks), networks
    if overlay == "dev":
        cluster = yaml.safe_load((DEPLOY / "kind-cluster.yaml").read_text())
        assert networks == [ipaddress.ip_network(cluster["networking"]["podSubnet"])]
    annotations = one(overlay, "Ingress", "ticketing")["metadata"].get("annotations", {})
    assert not [a for a in annotations if "forwarded" in a or "snippet" in a], annotations


async def test_uvicorn_believes_a_proxy_in_the_dev_pod_cidr_and_no_one_outside_it():
    """The overlays trust a CIDR: uvicorn must read it as a network, not one address."""
    trusted = _configmap("dev")["FORWARDED_ALLOW_IPS"]
    network = ipaddress.ip_network(trusted)
    inside, outside = str(network[1234]), "192.0.2.77"

    async def seen_client(peer: str) -> str:
        seen = {}

        async def app(scope, receive, send):
            seen["client"] = scope["client"][0]

        scope = {
            "type": "http",
            "scheme": "http",
            "client": (peer, 5000),
            "headers": [(b"x-forwarded-for", b"203.0.113.9")],
        }
        await ProxyHeadersMiddleware(app, trusted_hosts=trusted)(scope, None, None)
        return seen["client"]

    assert await seen_client(inside) == "203.0.113.9"
    assert await seen_client(outside) == outside


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_run_as_the_image_user_and_cannot_escalate(overlay):
    jobs = [("migrate", _job(overlay)), ("streams", _job(overlay, "streams"))]
    for name, workload in [*of_kind(overlay, "Deployment").items(), *jobs]:
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] == 10001, f"{name}: USER in the Dockerfile"
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["readOnlyRootFilesystem"] is True, name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_come_from_secrets_and_the_rest_from_the_configmap(overlay):
    for name, deployment in of_kind(overlay, "Deployment").items():
        (container,) = containers(deployment)
        assert [s["configMapRef"]["name"].rsplit("-", 1)[0] for s in container["envFrom"]] == [
            "ticketing-config"
        ]
        refs = {
            v["name"]: v["valueFrom"]["secretKeyRef"]
            for v in container.get("env", [])
            if "valueFrom" in v
        }
        if name in WITH_DATABASE:
            assert refs["DATABASE_URL"]["key"] == name, "each service its own database"
            assert refs["DATABASE_URL"]["name"].startswith("ticketing-databases")
            assert refs["JWT_PUBLIC_KEY"]["name"].startswith("ticketing-secrets")
        else:  # web has no database, no bus and verifies no session: it signs its forms
            assert {k: (r["name"].split("-")[:2], r["key"]) for k, r in refs.items()} == {
                "CSRF_KEY": (["ticketing", "secrets"], "CSRF_KEY")
            }
    config = _configmap(overlay)
    secret = {
        "JWT_PRIVATE_KEY",
        "JWT_PUBLIC_KEY",
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "DATABASE_URL",
        "CSRF_KEY",
        "PASS_CODE_SECRET",
        "SMTP_PASSWORD",
    }
    assert not secret & set(config)
    assert config["NATS_URL"] == "nats://nats:4222"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_on_the_bus_connects_as_its_own_nats_user(overlay):
    for name, deployment in of_kind(overlay, "Deployment").items():
        env = {v["name"]: v for v in containers(deployment)[0].get("env", [])}
        if name not in BUS_USERS:
            assert not {"NATS_USER", "NATS_PASSWORD"} & set(env), name
            continue
        assert env["NATS_USER"]["value"] == name
        secret = env["NATS_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert secret["name"].startswith("ticketing-nats") and secret["key"] == name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_nats_admits_only_the_generated_users_and_hides_its_monitoring_port(overlay):
    nats = one(overlay, "StatefulSet", "nats")
    (container,) = containers(nats)
    config_path = next(a.split("=", 1)[1] for a in container["args"] if a.startswith("--config="))
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    (volume,) = [v for v in nats["spec"]["template"]["spec"]["volumes"] if "configMap" in v]
    assert config_path == f"{mounts[volume['name']]}/nats.conf"
    assert config_data(overlay, "nats-config")["nats.conf"] == container_config()
    passwords = {
        v["name"]: v["valueFrom"]["secretKeyRef"]
        for v in container["env"]
        if v["name"].startswith("NATS_PASSWORD_")
    }
    assert {
        n: (r["name"].startswith("ticketing-nats"), r["key"]) for n, r in passwords.items()
    } == {password_variable(user): (True, user) for user in USERS}
    service = one(overlay, "Service", nats["spec"]["serviceName"])
    assert [p["port"] for p in service["spec"]["ports"]] == [4222]
    assert container["livenessProbe"]["httpGet"]["port"] == "monitor"  # probes still reach it


def test_the_committed_nats_config_is_what_the_permissions_generate():
    """`ticketing nats-config > deploy/k8s/base/nats.conf` after changing who may do what."""
    assert (DEPLOY / "k8s" / "base" / "nats.conf").read_text() == container_config()


def test_dev_gives_each_nats_user_its_own_password():
    passwords = config_data("dev", "ticketing-nats")
    assert set(passwords) == set(USERS)
    assert len(set(passwords.values())) == len(USERS)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_auth_can_sign_sessions_and_the_migration_job_holds_no_key(overlay):
    """A workload holding the signing key could mint a session for anyone."""
    for name, workload in [*of_kind(overlay, "Deployment").items(), ("migrate", _job(overlay))]:
        for container in containers(workload):
            env = {v["name"]: v.get("valueFrom", {}) for v in container.get("env", [])}
            signs = "JWT_PRIVATE_KEY" in env or any(
                ref.get("secretKeyRef", {}).get("name") == "ticketing-signing-key"
                for ref in env.values()
            )
            assert not any("secretRef" in s for s in container.get("envFrom", [])), name
            assert signs == (name == "auth"), f"{name} {container['name']}"
            if name == "migrate":
                assert set(env) == {"DATABASE_URL"}, f"the Job's {container['name']}: {set(env)}"


def test_only_payments_sees_the_stripe_secret():
    for name, deployment in of_kind("prod", "Deployment").items():
        env = {v["name"] for v in containers(deployment)[0].get("env", [])}
        assert ("STRIPE_SECRET_KEY" in env) == (name == "payments"), name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_payments_sees_the_webhook_secret_and_the_sandbox_posts_to_itself(overlay):
    """Whoever holds the secret could sign a "payment succeeded" webhook."""
    for name, deployment in of_kind(overlay, "Deployment").items():
        env = {v["name"]: v for v in containers(deployment)[0].get("env", [])}
        assert ("STRIPE_WEBHOOK_SECRET" in env) == (name == "payments"), name
    (payments,) = containers(one(overlay, "Deployment", "payments"))
    env = {v["name"]: v for v in payments["env"]}
    ref = env["STRIPE_WEBHOOK_SECRET"]["valueFrom"]["secretKeyRef"]
    assert ref["name"].startswith("ticketing-secrets") and ref["optional"] is True
    http = next(p["containerPort"] for p in payments["ports"] if p["name"] == "http")
    assert env["SANDBOX_WEBHOOK_URL"]["value"] == f"http://127.0.0.1:{http}/api/payments/webhook"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_notifications_sees_the_relays_password_and_it_is_optional(overlay):
    for name, workload in [*of_kind(overlay, "Deployment").items(), ("migrate", _job(overlay))]:
        for container in containers(workload):
            env = {v["name"]: v for v in container.get("env", [])}
            assert ("SMTP_PASSWORD" in env) == (name == "notifications"), name
    (notifications,) = containers(one(overlay, "Deployment", "notifications"))
    (ref,) = [
        v["valueFrom"]["secretKeyRef"] for v in notifications["env"] if v["name"] == "SMTP_PASSWORD"
    ]
    assert ref["name"].startswith("ticketing-secrets") and ref["optional"] is True


def test_dev_sends_mail_to_mailpit_and_prod_to_a_relay_it_names():
    dev, prod = _configmap("dev"), _configmap("prod")
    mailpit = one("dev", "Service", "mailpit")
    smtp = next(p for p in mailpit["spec"]["ports"] if p["name"] == "smtp")
    assert dev["SMTP_URL"] == f"smtp://mailpit:{smtp['port']}"
    (container,) = containers(one("dev", "StatefulSet", "mailpit"))
    name, _, tag = container["image"].partition(":")
    assert name == "axllent/mailpit" and tag not in ("", "latest"), "pinned like the others"
    assert {p["name"]: p["containerPort"] for p in container["ports"]}[smtp["targetPort"]] == 1025
    assert "mailpit" not in of_kind("prod", "StatefulSet")
    (rule,) = one("prod", "Ingress", "ticketing")["spec"]["rules"]
    assert prod["SITE_URL"] == f"https://{rule['host']}", "links in the mail lead to the site"
    assert (
        prod["SMTP_URL"].split("://")[0] in ("smtp", "smtps") and "mailpit" not in prod["SMTP_URL"]
    )
    assert prod["MAIL_FROM"].endswith(f"@{rule['host']}>")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_passes_sees_the_key_its_codes_are_derived_with(overlay):
    """Whoever holds it and a copy of passes' rows could work out the codes."""
    for name, workload in [*of_kind(overlay, "Deployment").items(), ("migrate", _job(overlay))]:
        for container in containers(workload):
            refs = {
                v["name"]: v["valueFrom"]["secretKeyRef"]
                for v in container.get("env", [])
                if "secretKeyRef" in v.get("valueFrom", {})
            }
            holds = "PASS_CODE_SECRET" in refs
            assert holds == (name == "passes"), f"{name} {container['name']}"
            if holds:
                assert refs["PASS_CODE_SECRET"]["name"].startswith("ticketing-secrets")
                assert refs["PASS_CODE_SECRET"]["key"] == "PASS_CODE_SECRET"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_migration_job_migrates_each_database_with_the_cli(overlay):
    job = _job(overlay)
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "OnFailure"
    commands = {c["name"]: c["command"] + c["args"] for c in containers(job)}
    assert commands == {name: ["ticketing", "migrate", name] for name in WITH_DATABASE}
    for container in containers(job):
        refs = {v["name"]: v["valueFrom"]["secretKeyRef"] for v in container["env"]}
        assert refs["DATABASE_URL"]["key"] == container["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_streams_job_makes_them_as_the_nats_admin_and_holds_nothing_else(overlay):
    """The services' NATS users may not make streams: this Job does, before they start."""
    job = _job(overlay, "streams")
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "OnFailure"
    (container,) = containers(job)
    assert container["command"] + container.get("args", []) == ["ticketing", "streams"]
    env = {v["name"]: v for v in container["env"]}
    assert set(env) == {"NATS_USER", "NATS_PASSWORD"}
    assert env["NATS_USER"]["value"] == "admin"
    secret = env["NATS_PASSWORD"]["valueFrom"]["secretKeyRef"]
    assert secret["name"].startswith("ticketing-nats") and secret["key"] == "admin"
    for name, deployment in of_kind(overlay, "Deployment").items():
        users = {v.get("value") for v in containers(deployment)[0].get("env", [])}
        assert "admin" not in users, f"{name} connects as the bus's admin"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_ingress_routes_the_design_paths_through_ingress_nginx(overlay):
    ingress = one(overlay, "Ingress", "ticketing")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    (rule,) = ingress["spec"]["rules"]
    routes = {
        p["path"]: p["backend"]["service"]["name"]
        for p in rule["http"]["paths"]
        if p["pathType"] == "Prefix"
    }
    assert routes == ROUTES
    for path in rule["http"]["paths"]:
        assert path["backend"]["service"]["port"] == {"name": "http"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_nats_keeps_jetstream_on_a_volume_behind_a_headless_service(overlay):
    nats = one(overlay, "StatefulSet", "nats")
    (container,) = containers(nats)
    assert "--jetstream" in container["args"]
    store = next(a.split("=", 1)[1] for a in container["args"] if a.startswith("--store_dir="))
    (claim,) = nats["spec"]["volumeClaimTemplates"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts[claim["metadata"]["name"]] == store
    service = one(overlay, "Service", nats["spec"]["serviceName"])
    assert service["spec"]["clusterIP"] == "None"


def test_dev_runs_postgres_in_the_cluster_with_the_service_databases():
    postgres = one("dev", "StatefulSet", "postgres")
    assert postgres["spec"]["volumeClaimTemplates"]
    init = next(
        doc["data"]["init-databases.sql"]
        for doc in render("dev")
        if doc["kind"] == "ConfigMap" and doc["metadata"]["name"].startswith("postgres-init")
    )
    created = {
        line.split()[2].rstrip(";") for line in init.splitlines() if "CREATE DATABASE" in line
    }
    assert created == set(WITH_DATABASE)


def test_prod_points_at_a_managed_database_and_serves_https_only():
    assert "postgres" not in of_kind("prod", "StatefulSet")
    ingress = one("prod", "Ingress", "ticketing")
    (rule,) = ingress["spec"]["rules"]
    assert [rule["host"]] == ingress["spec"]["tls"][0]["hosts"]
    config = _configmap("prod")
    assert config["COOKIE_SECURE"] == "true"
    assert config["API_BASE_URL"] == f"https://{rule['host']}"
    assert not of_kind("prod", "Secret"), "prod secrets are the operator's, never in git"


def test_prod_runs_two_or_more_replicas_with_autoscaling_and_disruption_budgets():
    deployments = of_kind("prod", "Deployment")
    autoscalers = of_kind("prod", "HorizontalPodAutoscaler")
    budgets = of_kind("prod", "PodDisruptionBudget")
    for name, deployment in deployments.items():
        assert deployment["spec"]["replicas"] >= 2, name
        hpa = autoscalers[name]["spec"]
        assert hpa["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": name,
        }
        assert 2 <= hpa["minReplicas"] < hpa["maxReplicas"]
        selector = budgets[name]["spec"]["selector"]["matchLabels"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items(), f"{name}: the budget must select its pods"
        assert budgets[name]["spec"]["minAvailable"] < deployment["spec"]["replicas"]


def test_dev_runs_one_replica_of_each_and_no_autoscaler():
    assert {d["spec"]["replicas"] for d in of_kind("dev", "Deployment").values()} == {1}
    assert not of_kind("dev", "HorizontalPodAutoscaler")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_generated_reference_resolves(overlay):
    """A misspelt ConfigMap or Secret name would only show as a pod stuck at start."""
    rendered = {(d["kind"], d["metadata"]["name"]) for d in render(overlay)}
    operator_secrets = (
        {"ticketing-secrets", "ticketing-signing-key", "ticketing-databases", "ticketing-nats"}
        if overlay == "prod"
        else set()
    )
    for workload in [
        *of_kind(overlay, "Deployment").values(),
        *of_kind(overlay, "StatefulSet").values(),
        _job(overlay),
    ]:
        pod = workload["spec"]["template"]["spec"]
        for container in pod["containers"]:
            for source in container.get("envFrom", []):
                assert ("ConfigMap", source["configMapRef"]["name"]) in rendered
            for var in container.get("env", []):
                ref = var.get("valueFrom", {}).get("secretKeyRef")
                if ref and ref["name"] not in operator_secrets and not ref.get("optional"):
                    assert ("Secret", ref["name"]) in rendered, ref
        for volume in pod.get("volumes", []):
            if "configMap" in volume:
                assert ("ConfigMap", volume["configMap"]["name"]) in rendered


def test_every_runtime_service_is_deployed_and_routed():
    """A service added to `ticketing up` must be added here too, with the same route."""
    deployments = of_kind("dev", "Deployment")
    ingress_routes: dict[str, tuple[str, ...]] = {}
    for prefix, name in ROUTES.items():
        ingress_routes[name] = (*ingress_routes.get(name, ()), prefix)
    migrated = {c["name"] for c in containers(_job("dev"))}
    for spec in RUNTIME_SERVICES:
        assert spec.name in deployments, f"{spec.name} runs in `ticketing up` but is not deployed"
        assert ingress_routes.get(spec.name, ()) == spec.routes, spec.name
        assert (spec.name in migrated) == spec.database


def _job(overlay: str, name: str = "migrate") -> dict:
    return one(overlay, "Job", name)


def _configmap(overlay: str) -> dict:
    return config_data(overlay, "ticketing-config")
