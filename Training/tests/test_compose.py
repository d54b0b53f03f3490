"""Compose/ cannot run here (no Docker engine), so it is checked against the code: the services and
images, the topics job, and every ANATOMIX_* variable it sets being one the workers read
(Shared/Workers/WorkerConfiguration.swift), with the broker address pointing at the broker service."""
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "Compose" / "docker-compose.yml").read_text())
KNOWN = set(re.findall(r'"(ANATOMIX_[A-Z0-9_]+)"', (ROOT / "Shared/Workers/WorkerConfiguration.swift").read_text()))
WORKERS = {"perception-worker": "perception-worker", "retrieval-indexer": "retrieval-indexer", "language-worker": "language-worker"}


def test_services_images_and_commands():
    services = COMPOSE["services"]
    assert set(services) == {"kafka", "topic-init", *WORKERS}
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert "controller" in services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"]        # KRaft, no ZooKeeper
    for name, binary in WORKERS.items():
        s = services[name]
        assert s["command"] == [binary]
        assert s["build"]["dockerfile"] == "Compose/Dockerfile" and s["image"] == "anatomix:latest"
        assert s["deploy"]["replicas"] >= 1 and "healthcheck" in s
        assert s["depends_on"]["topic-init"]["condition"] == "service_completed_successfully"
    assert services["topic-init"]["command"][:3] == ["anatomix", "topics", "create"]
    binaries = (ROOT / "Compose" / "Dockerfile").read_text()
    for binary in ["anatomix", *WORKERS.values()]:
        assert f"--product {binary}" in binaries and (ROOT / "Services" / binary).is_dir()


def test_every_variable_is_one_the_workers_read():
    for name, s in COMPOSE["services"].items():
        for key in (s.get("environment") or {}):
            if key.startswith("ANATOMIX_"):
                assert key in KNOWN, f"{name} sets {key}, which WorkerConfiguration does not read"
        env = s.get("environment") or {}
        if "ANATOMIX_KAFKA_BOOTSTRAP" in env:
            host = env["ANATOMIX_KAFKA_BOOTSTRAP"].split(":")[0]
            assert host == "kafka", f"{name} talks to {host}"
    assert "ANATOMIX_HEARTBEAT_FILE" in (ROOT / "Compose" / "Dockerfile").read_text()


def test_the_message_limit_fits_the_broker():
    env = COMPOSE["services"]["kafka"]["environment"]
    default = int(re.search(r'"ANATOMIX_MAX_MESSAGE_BYTES", "(\d+)"', (ROOT / "Shared/Workers/WorkerConfiguration.swift").read_text()).group(1))
    assert int(env["KAFKA_MESSAGE_MAX_BYTES"]) > default


def test_health_checks_ask_the_workers_endpoint_on_the_port_the_image_sets():
    dockerfile = (ROOT / "Compose" / "Dockerfile").read_text()
    port = re.search(r"ANATOMIX_OPS_PORT=(\d+)", dockerfile)
    assert port, "the image sets ANATOMIX_OPS_PORT"
    assert re.search(r"install[^&]*\bcurl\b", dockerfile), "the runtime image has curl for the health check"
    for name, s in COMPOSE["services"].items():
        if name.endswith(("-worker", "-indexer")):
            test = " ".join(s["healthcheck"]["test"])
            assert f"127.0.0.1:{port.group(1)}/healthz" in test, (name, test)
            assert port.group(1) in [str(p) for p in s.get("expose", [])], name


def test_the_sasl_tls_variant_sets_security_for_every_client_with_variables_the_workers_read():
    variant = yaml.safe_load((ROOT / "Compose" / "docker-compose.sasl-tls.yml").read_text())
    clients = [n for n in variant["services"] if n in WORKERS or n == "topic-init"]
    assert sorted(clients) == sorted(list(WORKERS) + ["topic-init"])
    for name in clients:
        env = variant["services"][name]["environment"]
        assert env["ANATOMIX_KAFKA_SECURITY_PROTOCOL"] == "sasl_ssl" and env["ANATOMIX_KAFKA_BOOTSTRAP"] == "kafka:9094", name
        assert env["ANATOMIX_KAFKA_SASL_MECHANISM"] in variant["services"]["kafka"]["environment"]["KAFKA_SASL_ENABLED_MECHANISMS"]
        for key in env:
            if key.startswith("ANATOMIX_"):
                assert key in KNOWN, f"{name} sets {key}, which WorkerConfiguration does not read"
        assert env["ANATOMIX_KAFKA_SSL_CA"].startswith("/run/secrets/") and "ca.pem" in variant["services"][name]["secrets"]
    listeners = variant["services"]["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    assert "SASL_SSL://kafka:9094" in listeners
