"""Offline checks of the deployment files: the Dockerfiles, compose.yaml and the
Kubernetes base. No network, no Docker engine, no cluster.

The environment a manifest gives a service is checked against what that
service's ``Settings`` really reads, so a renamed or misspelt variable fails
here rather than silently falling back to a default in production. A service
whose package is not written yet is skipped and covered once it lands.
"""

from __future__ import annotations

import importlib
import os
import re
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml
from pydantic import AliasChoices, AliasPath
from ticketflow_local.config import CONSOLE_PORT, SERVICE_PORTS, database_env_name
from ticketflow_runtime.settings import ServiceSettings
from ticketflow_schemas.topics import ALL_TOPICS, MAX_MESSAGE_BYTES, PARTITIONS, SERVICES

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "compose.yaml"
K8S_BASE = REPO / "deploy" / "k8s" / "base"
CONTAINER_PORT = 8000
DEFAULT_GRACEFUL_TIMEOUT = ServiceSettings.model_fields["graceful_timeout_seconds"].default

# Image name prefixes: the major versions the project is built and tested against.
INFRA_IMAGES = {
    "kafka": "apache/kafka:4.",
    "kafka-topics": "apache/kafka:4.",
    "postgres": "postgres:15",
    "mailpit": "axllent/mailpit:",
}

# Read by libraries rather than by Settings: the OpenTelemetry SDK takes the
# standard OTEL_* variables from the environment itself.
LIBRARY_ENV_PREFIXES = ("OTEL_",)

by_service = pytest.mark.parametrize("service", SERVICES)
# The console is deployed as the services are, without Kafka or a database of its own.
CONSOLE = "console"
with_console = pytest.mark.parametrize("service", (*SERVICES, CONSOLE))


# --------------------------------------------------------------------------- helpers


def settings_class(service: str) -> type[ServiceSettings]:
    module = f"{service}.app"
    if (REPO / "services" / service / service / "app.py").exists():
        # Written: an import error is a failure, not a reason to skip.
        return importlib.import_module(module).Settings
    return pytest.importorskip(module, reason=f"the {service} service is not written yet").Settings


def accepted_env_names(settings: type[ServiceSettings]) -> dict[str, str]:
    """Every environment variable ``settings`` reads, mapped to its field name.

    Mirrors pydantic-settings: a field is read from its validation alias (each
    choice of an ``AliasChoices``), and from ``env_prefix`` + its name when it has
    no alias or the model populates by name. Matching is case-insensitive.
    """
    config = settings.model_config
    prefix = config.get("env_prefix") or ""
    by_name = config.get("populate_by_name") or config.get("validate_by_name")
    names: dict[str, str] = {}
    for field_name, field in settings.model_fields.items():
        alias = field.validation_alias or field.alias
        choices: list[Any] = []
        if isinstance(alias, AliasChoices):
            choices = list(alias.choices)
        elif alias is not None:
            choices = [alias]
        for choice in choices:
            if isinstance(choice, AliasPath):
                choice = choice.path[0]
            if isinstance(choice, str):
                names[choice.upper()] = field_name
        if alias is None or by_name:
            names[f"{prefix}{field_name}".upper()] = field_name
    return names


def check_environment(service: str, env: dict[str, str], where: str) -> None:
    """``env`` only sets variables the service reads, and sets every required one."""
    settings = settings_class(service)
    accepted = accepted_env_names(settings)
    unknown = sorted(
        name for name in env
        if name.upper() not in accepted and not name.upper().startswith(LIBRARY_ENV_PREFIXES)
    )
    assert not unknown, f"{where}: {service} does not read {unknown}"
    fields_set = {accepted[name.upper()] for name in env if name.upper() in accepted}
    missing = sorted(
        name for name, field in settings.model_fields.items()
        if field.is_required() and name not in fields_set
    )
    assert not missing, f"{where}: {service} needs {missing}"


def load_settings(
    service: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> ServiceSettings:
    """The settings the service would start with, given exactly ``env``."""
    settings = settings_class(service)
    accepted = accepted_env_names(settings)
    for name in list(os.environ):
        if name.upper() in accepted:
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return settings()


def duration_seconds(value: str | int | float) -> float:
    """A compose duration ("45s", "1m30s") in seconds."""
    if isinstance(value, int | float):
        return float(value)
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", value)
    assert parts and "".join(n + u for n, u in parts) == value, f"not a duration: {value!r}"
    return sum(float(n) * units[u] for n, u in parts)


def as_env(mapping: dict[str, Any] | list[str] | None) -> dict[str, str]:
    """Compose environment (mapping or list form) as strings."""
    if mapping is None:
        return {}
    if isinstance(mapping, list):
        return dict(item.split("=", 1) for item in mapping)
    return {
        name: str(value).lower() if isinstance(value, bool) else str(value)
        for name, value in mapping.items()
    }


# --------------------------------------------------------------------------- Dockerfiles


def dockerfile(service: str) -> Path:
    return REPO / "services" / service / "Dockerfile"


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined."""
    result: list[tuple[str, str]] = []
    pending = ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full = pending + stripped
        pending = ""
        keyword, _, args = full.partition(" ")
        result.append((keyword.upper(), args.strip()))
    return result


def final_stage(path: Path) -> list[tuple[str, str]]:
    steps = instructions(path)
    last_from = max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return steps[last_from:]


@with_console
def test_dockerfile_runs_as_non_root(service: str) -> None:
    users = [args for keyword, args in final_stage(dockerfile(service)) if keyword == "USER"]
    assert users, f"{service}: the runtime stage declares no USER"
    user = users[-1].split(":")[0]
    # Numeric, so Kubernetes' runAsNonRoot can verify it.
    assert user.isdigit() and int(user) != 0, f"{service}: USER {users[-1]} is not a non-root UID"


@with_console
def test_dockerfile_serves_the_service(service: str) -> None:
    path = dockerfile(service)
    steps = instructions(path)
    text = path.read_text()
    assert [args for k, args in steps if k == "FROM"][-1] in {"${PYTHON_IMAGE}", "python:3.11-slim"}
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in text
    assert len([k for k, _ in steps if k == "FROM"]) >= 2, "expected a multi-stage build"
    assert f"ARG SERVICE={service}" in text
    assert re.search(r"uv sync --frozen --no-dev .*--package \"?ticketflow-\$\{SERVICE\}", text)
    runtime = final_stage(path)
    assert ("EXPOSE", str(CONTAINER_PORT)) in runtime
    env = " ".join(args for k, args in runtime if k == "ENV")
    assert "HTTP_HOST=0.0.0.0" in env and f"HTTP_PORT={CONTAINER_PORT}" in env
    assert ("CMD", f'["python", "-m", "{service}"]') in runtime


def test_dockerfiles_differ_only_in_the_service_name() -> None:
    # Five copies of one recipe: a fix made to one must be made to all.
    reference = dockerfile(SERVICES[0]).read_text().replace(SERVICES[0], "<service>")
    for service in SERVICES[1:]:
        assert dockerfile(service).read_text().replace(service, "<service>") == reference, service


def test_dockerignore_keeps_local_state_out_of_the_build_context() -> None:
    patterns = {
        line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".local", ".venv", "**/__pycache__"} <= patterns
    # The workspace must stay visible: the lock, the manifests and every member.
    for needed in ("uv.lock", "pyproject.toml", "shared", "services", "deploy/local"):
        assert needed not in patterns, needed


# --------------------------------------------------------------------------- compose.yaml


@cache
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def compose_service(name: str) -> dict[str, Any]:
    services = compose()["services"]
    assert name in services, f"compose.yaml has no service {name!r}"
    return services[name]


def published_ports(spec: dict[str, Any]) -> list[tuple[int, int]]:
    """(host port, container port) pairs from short or long port syntax."""
    pairs = []
    for port in spec.get("ports", []):
        if isinstance(port, dict):
            pairs.append((int(port["published"]), int(port["target"])))
        else:
            *_, published, target = str(port).split("/")[0].split(":")
            pairs.append((int(published), int(target)))
    return pairs


@with_console
def test_compose_builds_each_service_from_its_dockerfile(service: str) -> None:
    build = compose_service(service)["build"]
    assert (REPO / build["context"]).resolve() == REPO, "the context must be the workspace root"
    assert (REPO / build["context"] / build["dockerfile"]).resolve() == dockerfile(service)
    assert dockerfile(service).exists()


@by_service
def test_compose_publishes_the_local_port(service: str) -> None:
    assert published_ports(compose_service(service)) == [(SERVICE_PORTS[service], CONTAINER_PORT)]


@by_service
def test_compose_environment_is_what_the_service_reads(service: str, monkeypatch) -> None:
    env = as_env(compose_service(service).get("environment"))
    check_environment(service, env, "compose.yaml")
    settings = load_settings(service, env, monkeypatch)
    assert settings.http_host == "0.0.0.0"
    assert settings.http_port == CONTAINER_PORT
    assert settings.kafka_bootstrap_servers == "kafka:9092"
    url = urlsplit(env[database_env_name(service)])
    assert url.scheme == "postgresql+asyncpg"
    assert (url.hostname, url.path) == ("postgres", f"/{service}")


@by_service
def test_compose_waits_for_infrastructure_and_drains_on_stop(service: str) -> None:
    spec = compose_service(service)
    depends = spec["depends_on"]
    assert depends["postgres"]["condition"] == "service_healthy"
    assert depends["kafka-topics"]["condition"] == "service_completed_successfully"
    env = as_env(spec.get("environment"))
    graceful = float(env.get("GRACEFUL_TIMEOUT_SECONDS", DEFAULT_GRACEFUL_TIMEOUT))
    assert duration_seconds(spec["stop_grace_period"]) > graceful
    assert "healthcheck" in spec


def test_compose_notifications_sends_mail_to_the_sink() -> None:
    spec = compose_service("notifications")
    env = as_env(spec["environment"])
    assert env["SMTP_HOST"] == "mailpit"
    assert spec["depends_on"]["mailpit"]["condition"] == "service_healthy"


def test_compose_infrastructure() -> None:
    for name, image in INFRA_IMAGES.items():
        assert compose_service(name)["image"].startswith(image), name
    for name in ("kafka", "postgres", "mailpit"):
        assert "healthcheck" in compose_service(name), name


def test_compose_kafka_topics_are_created_not_guessed() -> None:
    kafka = as_env(compose_service("kafka")["environment"])
    assert kafka["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert kafka["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert kafka["KAFKA_NUM_PARTITIONS"] == str(PARTITIONS)
    init = compose_service("kafka-topics")
    env = as_env(init["environment"])
    assert env["TOPICS"].split() == list(ALL_TOPICS)
    assert env["PARTITIONS"] == str(PARTITIONS)
    assert env["MAX_MESSAGE_BYTES"] == str(MAX_MESSAGE_BYTES)
    script = REPO / "deploy" / "compose" / "create-topics.sh"
    assert any(str(volume).startswith("./deploy/compose/create-topics.sh:") for volume in init["volumes"])
    assert "--create --if-not-exists" in script.read_text()
    assert '"max.message.bytes=$MAX_MESSAGE_BYTES"' in script.read_text()


def test_compose_postgres_creates_one_database_per_service() -> None:
    volumes = compose_service("postgres")["volumes"]
    mounted = [v.split(":")[0] for v in volumes if ":/docker-entrypoint-initdb.d/" in v]
    assert mounted, "no init script mounted into /docker-entrypoint-initdb.d"
    sql = "\n".join((REPO / path).read_text() for path in mounted)
    created = set(re.findall(r"CREATE DATABASE\s+\"?(\w+)\"?", sql, re.IGNORECASE))
    assert created == set(SERVICES)


# --------------------------------------------------------------------------- Kubernetes


@cache
def kustomization() -> dict[str, Any]:
    return yaml.safe_load((K8S_BASE / "kustomization.yaml").read_text())


def k8s_resource_files() -> list[Path]:
    return sorted(p for p in K8S_BASE.rglob("*.yaml") if p.name != "kustomization.yaml")


@cache
def k8s_documents() -> list[dict[str, Any]]:
    return [
        doc for path in k8s_resource_files()
        for doc in yaml.safe_load_all(path.read_text()) if doc
    ]


def k8s_object(kind: str, name: str) -> dict[str, Any]:
    found = [d for d in k8s_documents() if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind}/{name} in {K8S_BASE}, found {len(found)}"
    return found[0]


def test_kustomization_lists_exactly_the_resource_files() -> None:
    listed = kustomization()["resources"]
    for entry in listed:
        assert (K8S_BASE / entry).is_file(), f"kustomization.yaml lists missing {entry}"
    on_disk = {p.relative_to(K8S_BASE).as_posix() for p in k8s_resource_files()}
    assert set(listed) == on_disk, f"not listed: {sorted(on_disk - set(listed))}"
    assert len(listed) == len(set(listed)), "a resource is listed twice"


@pytest.mark.parametrize(
    "path", k8s_resource_files(), ids=lambda p: p.relative_to(K8S_BASE).as_posix()
)
def test_k8s_resource_is_valid_strict(path: Path) -> None:
    version = kubernetes_validate.latest_version()
    errors = []
    for document in yaml.safe_load_all(path.read_text()):
        if not document:
            continue
        try:
            kubernetes_validate.validate(document, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            location = "/".join(str(part) for part in error.path)
            errors.append(f"{location}: {error.message}")
    # Outside the except block: the schema dump in the traceback buries the message.
    assert not errors, "\n".join(errors)


def pod_spec(service: str) -> dict[str, Any]:
    return k8s_object("Deployment", service)["spec"]["template"]["spec"]


def service_container(service: str) -> dict[str, Any]:
    containers = {c["name"]: c for c in pod_spec(service)["containers"]}
    assert service in containers, f"Deployment/{service} has no container {service!r}"
    return containers[service]


def deployment_environment(service: str) -> dict[str, str]:
    """The container's environment: ConfigMaps it loads, then its own entries.

    Secret references stand in with placeholder values of the right shape.
    """
    container = service_container(service)
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        assert "configMapRef" in source, f"{service}: only ConfigMaps are loaded whole"
        env.update(k8s_object("ConfigMap", source["configMapRef"]["name"]).get("data", {}))
    for entry in container.get("env", []):
        if "value" in entry:
            env[entry["name"]] = entry["value"]
        elif entry["name"].endswith("DATABASE_URL"):
            env[entry["name"]] = f"postgresql+asyncpg://user:secret@postgres:5432/{service}"
        else:
            env[entry["name"]] = "placeholder-secret-value-of-a-realistic-length"
    return env


@by_service
def test_k8s_configuration_is_what_the_service_reads(service: str, monkeypatch) -> None:
    env = deployment_environment(service)
    check_environment(service, env, f"Deployment/{service}")
    settings = load_settings(service, env, monkeypatch)
    assert settings.http_host == "0.0.0.0"
    assert settings.http_port == CONTAINER_PORT
    # The database URL comes from a Secret, never from a ConfigMap.
    secret_refs = {
        e["name"] for e in service_container(service).get("env", [])
        if "secretKeyRef" in e.get("valueFrom", {})
    }
    assert database_env_name(service) in secret_refs


@with_console
def test_k8s_deployment_probes_security_and_shutdown(service: str) -> None:
    pod = pod_spec(service)
    container = service_container(service)

    assert container["startupProbe"]["httpGet"]["path"] == "/livez"
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": CONTAINER_PORT}

    pod_security = pod.get("securityContext", {})
    security = container.get("securityContext", {})
    effective = {**pod_security, **security}
    assert effective.get("runAsNonRoot") is True
    assert effective.get("runAsUser", 0) != 0
    assert security.get("readOnlyRootFilesystem") is True
    assert security.get("allowPrivilegeEscalation") is False
    assert "ALL" in security.get("capabilities", {}).get("drop", [])

    resources = container["resources"]
    assert {"cpu", "memory"} <= resources["requests"].keys()
    assert "memory" in resources["limits"]

    # SIGTERM arrives after preStop; the handlers then get graceful_timeout_seconds.
    env = deployment_environment(service)
    graceful = float(env.get("GRACEFUL_TIMEOUT_SECONDS", DEFAULT_GRACEFUL_TIMEOUT))
    pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    assert pod["terminationGracePeriodSeconds"] > DEFAULT_GRACEFUL_TIMEOUT
    assert pod["terminationGracePeriodSeconds"] > pre_stop + graceful


@with_console
def test_k8s_service_routes_to_the_deployment(service: str) -> None:
    spec = k8s_object("Service", service)["spec"]
    labels = k8s_object("Deployment", service)["spec"]["template"]["metadata"]["labels"]
    assert spec["selector"].items() <= labels.items()
    assert [p["targetPort"] for p in spec["ports"]] in (["http"], [CONTAINER_PORT])


def test_k8s_topics_job_creates_every_topic() -> None:
    container = k8s_object("Job", "ticketflow-topics")["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["TOPICS"].split() == list(ALL_TOPICS)
    assert env["PARTITIONS"] == str(PARTITIONS)
    assert env["MAX_MESSAGE_BYTES"] == str(MAX_MESSAGE_BYTES)
    assert "--create --if-not-exists" in " ".join(container["command"])
    assert '"max.message.bytes=$MAX_MESSAGE_BYTES"' in " ".join(container["command"])


# --------------------------------------------------------------------------- the console


def console_settings_env(env: dict[str, str], monkeypatch) -> object:
    from console.settings import Settings

    for name in list(os.environ):
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings()


def test_compose_console_reads_its_settings_and_reaches_the_services(monkeypatch) -> None:
    spec = compose_service(CONSOLE)
    assert published_ports(spec) == [(CONSOLE_PORT, CONTAINER_PORT)]
    # Compose reads "$$" as a literal "$" (the argon2 hashes are full of them).
    env = {name: value.replace("$$", "$") for name, value in as_env(spec["environment"]).items()}
    check_environment(CONSOLE, env, "compose.yaml")
    settings = console_settings_env(env, monkeypatch)
    assert settings.http_host == "0.0.0.0" and settings.http_port == CONTAINER_PORT
    for service in SERVICES:
        assert getattr(settings, f"{service}_api_url") == f"http://{service}:{CONTAINER_PORT}"
    assert {"orders", "assignment", "checkin"} <= spec["depends_on"].keys()
    assert [user.username for user in settings.staff_users] == ["organizer"]
    assert "healthcheck" in spec


def test_compose_sends_buyers_back_to_the_console() -> None:
    orders = as_env(compose_service("orders")["environment"])
    notifications = as_env(compose_service("notifications")["environment"])
    console = f"http://127.0.0.1:{CONSOLE_PORT}"
    assert orders["CHECKOUT_SUCCESS_URL"] == f"{console}/checkout/{{ORDER_ID}}/done"
    assert notifications["MANAGE_TICKETS_URL"] == f"{console}/buyer/orders/{{order_id}}"
    assert notifications["CLAIM_URL"] == f"{console}/claims/{{token}}"


def test_k8s_console_configuration_is_what_it_reads(monkeypatch) -> None:
    env = deployment_environment(CONSOLE)
    check_environment(CONSOLE, env, f"Deployment/{CONSOLE}")
    env["STAFF_USERS"] = "[]"  # a JSON list in the Secret, not the placeholder
    settings = console_settings_env(env, monkeypatch)
    assert settings.http_host == "0.0.0.0" and settings.http_port == CONTAINER_PORT
    assert settings.session_cookie_secure
    for service in SERVICES:
        url = urlsplit(getattr(settings, f"{service}_api_url"))
        assert (url.hostname, url.port) == (service, k8s_object("Service", service)["spec"]["ports"][0]["port"])
    secrets = {e["name"] for e in service_container(CONSOLE)["env"] if "secretKeyRef" in e.get("valueFrom", {})}
    assert {"AUTH_JWT_SECRET", "SESSION_SECRET", "STAFF_USERS"} <= secrets
