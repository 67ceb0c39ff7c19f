"""Start and stop the local infrastructure: Kafka (KRaft), PostgreSQL, an SMTP sink and the
stand-ins for Stripe, FCM and APNs.

    python -m ticketflow_local.infra up [--record FILE]
    python -m ticketflow_local.infra down [--only FILE]
    python -m ticketflow_local.infra status

Every command is idempotent. Servers listen on 127.0.0.1 only and keep their
data under the git-ignored ``.local/``. ``--record`` writes which parts this
call started, so ``down --only`` stops exactly those (``make test`` leaves a
stack that was already running alone).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import pwd
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

from ticketflow_schemas.topics import ALL_TOPICS, MAX_MESSAGE_BYTES, PARTITIONS

from .config import (
    APNS_STANDIN_PORT,
    FCM_STANDIN_PORT,
    KAFKA_CONTROLLER_PORT,
    KAFKA_PORT,
    PATHS,
    POSTGRES_PASSWORD,
    POSTGRES_PORT,
    POSTGRES_USER,
    REPO_ROOT,
    SMTP_PORT,
    STRIPE_STANDIN_PORT,
    apns_is_external,
    fcm_is_external,
    kafka_is_external,
    services_on_local_postgres,
    service_url,
    smtp_is_external,
    stack_env,
    stripe_is_external,
)
from .processes import is_running, port_open, start_background, stop_pid, wait_for

KAFKA_POM = REPO_ROOT / "deploy" / "kafka" / "pom.xml"
KAFKA_LOG4J = REPO_ROOT / "deploy" / "kafka" / "log4j2.properties"
KAFKA_HEAP = "-Xms256m -Xmx768m"


def log(message: str) -> None:
    print(f"[infra] {message}", flush=True)


def _background_server(name: str, *, key: str, port: int, command: list[str], logfile: Path, timeout: float,
                       override: str) -> bool:
    """Start a server process unless its pidfile says it runs; True when this call started it."""
    pidfile = PATHS.run / f"{key}.pid"
    if is_running(pidfile):
        return False
    if port_open("127.0.0.1", port):
        raise SystemExit(f"port {port} is taken by another process; set {override}")
    log(f"starting {name} on 127.0.0.1:{port}")
    start_background(command, pidfile=pidfile, logfile=logfile)
    wait_for(lambda: port_open("127.0.0.1", port), timeout, name, logfile=logfile, pidfile=pidfile)
    return True


# --------------------------------------------------------------------------- Kafka


def _kafka_libs() -> Path:
    """Resolve the broker jars with Maven once per pom version."""
    libs = PATHS.kafka / "libs"
    stamp = PATHS.kafka / "libs.sha256"
    digest = hashlib.sha256(KAFKA_POM.read_bytes()).hexdigest()
    if libs.is_dir() and stamp.exists() and stamp.read_text() == digest:
        return libs
    if shutil.which("mvn") is None:
        raise SystemExit("Maven (mvn) is needed to fetch the Kafka broker jars")
    log("resolving the Kafka broker jars from Maven Central")
    shutil.rmtree(libs, ignore_errors=True)
    subprocess.run(
        [
            "mvn", "-q", "-B", "-f", str(KAFKA_POM),
            "dependency:copy-dependencies", f"-DoutputDirectory={libs}",
        ],
        check=True,
    )
    stamp.write_text(digest)
    return libs


def kafka_properties(props: Path, data: Path) -> Path:
    """Write the single-node KRaft broker's properties to ``props``, its logs kept in ``data``."""
    props.write_text(
        "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@127.0.0.1:{KAFKA_CONTROLLER_PORT}",
                f"listeners=PLAINTEXT://127.0.0.1:{KAFKA_PORT},"
                f"CONTROLLER://127.0.0.1:{KAFKA_CONTROLLER_PORT}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{KAFKA_PORT}",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                f"log.dirs={data}",
                f"num.partitions={PARTITIONS}",
                # The project creates its topics; a typo must not create a new one.
                "auto.create.topics.enable=false",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=10",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "log.retention.hours=168",
                "",
            ]
        )
    )
    return props


def _java_command(libs: Path, main: str, *args: str, heap: str = "-Xmx256m") -> list[str]:
    return [
        "java", *heap.split(), "-XX:+UseG1GC", "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={KAFKA_LOG4J}",
        "-cp", f"{libs}/*", main, *args,
    ]


def new_kafka_cluster_id() -> str:
    """A random id in Kafka's own form (`Uuid.randomUuid`): url-safe base64 of 16
    bytes, never starting with "-", which the storage tool would read as an option."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _kafka_cluster_id() -> str:
    path = PATHS.kafka / "cluster.id"
    if not path.exists():
        path.write_text(new_kafka_cluster_id())
    return path.read_text().strip()


def kafka_format_command(libs: Path, props: Path, cluster_id: str) -> list[str]:
    # "--cluster-id=ID" in one word: a stored id from before may start with "-".
    return _java_command(libs, "kafka.tools.StorageTool", "format", "--ignore-formatted",
                         f"--cluster-id={cluster_id}", "-c", str(props))


def kafka_up() -> bool:
    """Start the broker; returns True when this call started it."""
    if is_running(PATHS.run / "kafka.pid"):
        return False
    PATHS.kafka.mkdir(parents=True, exist_ok=True)
    libs = _kafka_libs()
    data = PATHS.kafka / "data"
    props = kafka_properties(PATHS.kafka / "server.properties", data)
    if not (data / "meta.properties").exists():
        log("formatting Kafka storage (KRaft)")
        subprocess.run(
            kafka_format_command(libs, props, _kafka_cluster_id()),
            check=True, stdout=subprocess.DEVNULL,
        )
    return _background_server(
        "Kafka", key="kafka", port=KAFKA_PORT, timeout=90,
        command=_java_command(libs, "kafka.Kafka", str(props), heap=KAFKA_HEAP),
        logfile=PATHS.kafka / "kafka.log", override="KAFKA_BOOTSTRAP_SERVERS",
    )


def kafka_down() -> None:
    stop_pid(PATHS.run / "kafka.pid", "Kafka", timeout=60)


async def create_topics(bootstrap: str) -> None:
    """Create every topic the services use (idempotent)."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    configs = {"max.message.bytes": str(MAX_MESSAGE_BYTES)}
    deadline = time.monotonic() + 90
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [t for t in ALL_TOPICS if t not in existing]
            if missing:
                await admin.create_topics(
                    [NewTopic(t, num_partitions=PARTITIONS, replication_factor=1, topic_configs=configs)
                     for t in missing]
                )
                log(f"created topics: {', '.join(missing)}")
            if present := [t for t in ALL_TOPICS if t in existing]:
                # Topics made before a setting changed take it too.
                await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, t, configs) for t in present])
            return
        except Exception as error:  # broker still electing its controller
            if time.monotonic() > deadline:
                raise SystemExit(f"could not create topics on {bootstrap}: {error!r}")
            await asyncio.sleep(1)
        finally:
            await admin.close()


# ---------------------------------------------------------------------- PostgreSQL


def _pg_bin(name: str) -> str:
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    found = shutil.which(name)
    if not found:
        raise SystemExit(f"PostgreSQL server binary {name!r} not found")
    return found


def _as_postgres_user(cmd: list[str]) -> list[str]:
    """initdb and the server refuse to run as root: run them as `postgres` then."""
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


def _chown_for_postgres(path: Path) -> None:
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(path, entry.pw_uid, entry.pw_gid)


def postgres_up() -> bool:
    data = PATHS.postgres / "data"
    sockets = PATHS.postgres / "run"
    logfile = PATHS.postgres / "postgres.log"
    if (data / "postmaster.pid").exists() and _pg_ready():
        return False
    for path in (PATHS.postgres, sockets):
        path.mkdir(parents=True, exist_ok=True)
        _chown_for_postgres(path)
    if not (data / "PG_VERSION").exists():
        log("creating the PostgreSQL cluster (initdb)")
        pwfile = PATHS.postgres / "pwfile"
        pwfile.write_text(POSTGRES_PASSWORD + "\n")
        _chown_for_postgres(pwfile)
        subprocess.run(
            _as_postgres_user([
                _pg_bin("initdb"), "-D", str(data), "-U", POSTGRES_USER,
                f"--pwfile={pwfile}", "--auth-local=trust", "--auth-host=scram-sha-256",
                "--encoding=UTF8", "--locale=C.UTF-8",
            ]),
            check=True, stdout=subprocess.DEVNULL,
        )
        pwfile.unlink()
    if port_open("127.0.0.1", POSTGRES_PORT):
        raise SystemExit(f"port {POSTGRES_PORT} is taken by another process; set <SERVICE>_DATABASE_URL")
    log(f"starting PostgreSQL on 127.0.0.1:{POSTGRES_PORT}")
    options = (
        f"-h 127.0.0.1 -p {POSTGRES_PORT} -k {sockets} "
        "-c max_connections=300 -c shared_buffers=256MB -c max_wal_size=2GB "
        "-c synchronous_commit=on"
    )
    subprocess.run(
        _as_postgres_user([_pg_bin("pg_ctl"), "-D", str(data), "-l", str(logfile),
                           "-o", options, "-w", "-t", "60", "start"]),
        check=True, stdout=subprocess.DEVNULL,
    )
    return True


def _pg_ready() -> bool:
    result = subprocess.run(
        [_pg_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(POSTGRES_PORT)],
        capture_output=True,
    )
    return result.returncode == 0


def postgres_down() -> None:
    data = PATHS.postgres / "data"
    if not (data / "postmaster.pid").exists():
        return
    log("stopping PostgreSQL")
    subprocess.run(
        _as_postgres_user([_pg_bin("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
        check=False, stdout=subprocess.DEVNULL,
    )


async def create_databases(services: list[str]) -> None:
    import asyncpg

    conn = await asyncpg.connect(
        host="127.0.0.1", port=POSTGRES_PORT, user=POSTGRES_USER,
        password=POSTGRES_PASSWORD, database="postgres",
    )
    try:
        existing = {r["datname"] for r in await conn.fetch("SELECT datname FROM pg_database")}
        for service in services:
            if service not in existing:
                await conn.execute(f'CREATE DATABASE "{service}"')
                log(f"created database {service}")
    finally:
        await conn.close()


# ------------------------------------------------------------------------- SMTP sink


def smtp_up() -> bool:
    return _background_server(
        f"the SMTP sink (mail kept in {PATHS.maildir})", key="smtp", port=SMTP_PORT, timeout=20,
        command=[sys.executable, "-m", "ticketflow_local.smtp_sink", "--host", "127.0.0.1",
                 "--port", str(SMTP_PORT), "--maildir", str(PATHS.maildir)],
        logfile=PATHS.logs / "smtp-sink.log", override="SMTP_HOST/SMTP_PORT",
    )


def smtp_down() -> None:
    stop_pid(PATHS.run / "smtp.pid", "the SMTP sink", timeout=10)


# ------------------------------------------------------------------- Stripe stand-in


def stripe_up() -> bool:
    """Stripe's API cannot run here: a local stand-in speaking it, posting signed webhooks to orders."""
    return _background_server(
        "the Stripe stand-in", key="stripe", port=STRIPE_STANDIN_PORT, timeout=20,
        command=[sys.executable, "-m", "ticketflow_local.stripe_standin", "--port", str(STRIPE_STANDIN_PORT),
                 "--webhook-url", f"{service_url('orders')}/webhooks/stripe",
                 "--webhook-secret", stack_env()["STRIPE_WEBHOOK_SECRET"]],
        logfile=PATHS.logs / "stripe-standin.log", override="STRIPE_API_BASE",
    )


def stripe_down() -> None:
    stop_pid(PATHS.run / "stripe.pid", "the Stripe stand-in", timeout=10)


# -------------------------------------------------------------- push stand-ins


def _push_standin_up(service: str, name: str, port: int, override: str) -> bool:
    """FCM and APNs cannot be reached from here: stand-ins speaking their APIs, trusting the keys in PATHS.push."""
    return _background_server(
        name, key=service, port=port, timeout=20,
        command=[sys.executable, "-m", "ticketflow_local.push_standins", service, "--port", str(port),
                 "--dir", str(PATHS.push)],
        logfile=PATHS.logs / f"{service}-standin.log", override=override,
    )


def fcm_up() -> bool:
    return _push_standin_up("fcm", "the FCM stand-in", FCM_STANDIN_PORT, "FCM_API_BASE")


def fcm_down() -> None:
    stop_pid(PATHS.run / "fcm.pid", "the FCM stand-in", timeout=10)


def apns_up() -> bool:
    return _push_standin_up("apns", "the APNs stand-in", APNS_STANDIN_PORT, "APNS_API_BASE")


def apns_down() -> None:
    stop_pid(PATHS.run / "apns.pid", "the APNs stand-in", timeout=10)


# --------------------------------------------------------------------------- commands


def up() -> list[str]:
    """Start every part not running or pointed elsewhere; the names of those started."""
    for path in (PATHS.root, PATHS.run, PATHS.logs):
        path.mkdir(parents=True, exist_ok=True)
    started: list[str] = []
    try:
        _start_each(started)
    except BaseException:
        # Leave nothing behind that the caller cannot stop (it never learns what was started).
        down(started)
        raise
    log("infrastructure ready")
    return started


def _start_each(started: list[str]) -> None:
    env = stack_env()
    if kafka_is_external():
        log(f"using Kafka at {env['KAFKA_BOOTSTRAP_SERVERS']}")
    elif kafka_up():
        started.append("kafka")
    asyncio.run(create_topics(env["KAFKA_BOOTSTRAP_SERVERS"]))

    local_dbs = services_on_local_postgres()
    if local_dbs:
        if postgres_up():
            started.append("postgres")
        asyncio.run(create_databases(local_dbs))
    else:
        log("using the PostgreSQL databases from *_DATABASE_URL")

    if smtp_is_external():
        log(f"using SMTP at {env['SMTP_HOST']}:{env['SMTP_PORT']}")
    elif smtp_up():
        started.append("smtp")

    if stripe_is_external():
        log(f"using Stripe at {env['STRIPE_API_BASE']}")
    elif stripe_up():
        started.append("stripe")

    if fcm_is_external():
        log(f"using FCM at {env['FCM_API_BASE']}")
    elif fcm_up():
        started.append("fcm")

    if apns_is_external():
        log(f"using APNs at {env['APNS_API_BASE']}")
    elif apns_up():
        started.append("apns")


STOPPERS = {"apns": apns_down, "fcm": fcm_down, "stripe": stripe_down, "smtp": smtp_down, "kafka": kafka_down,
            "postgres": postgres_down}


def down(only: list[str] | None = None) -> None:
    for name, stop in STOPPERS.items():
        if only is None or name in only:
            stop()


def status() -> dict[str, bool]:
    return {
        "kafka": is_running(PATHS.run / "kafka.pid"),
        "postgres": (PATHS.postgres / "data" / "postmaster.pid").exists() and _pg_ready(),
        "smtp": is_running(PATHS.run / "smtp.pid"),
        "stripe": is_running(PATHS.run / "stripe.pid"),
        "fcm": is_running(PATHS.run / "fcm.pid"),
        "apns": is_running(PATHS.run / "apns.pid"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="ticketflow_local.infra")
    sub = parser.add_subparsers(dest="command", required=True)
    up_cmd = sub.add_parser("up", help="start what is not running yet")
    up_cmd.add_argument("--record", type=Path, help="write the parts this call started")
    down_cmd = sub.add_parser("down", help="stop the local parts")
    down_cmd.add_argument("--only", type=Path, help="stop only the parts listed in this file")
    sub.add_parser("status")
    args = parser.parse_args()

    if args.command == "up":
        started = up()
        if args.record:
            args.record.parent.mkdir(parents=True, exist_ok=True)
            args.record.write_text(json.dumps(started))
    elif args.command == "down":
        only = None
        if args.only:
            only = json.loads(args.only.read_text()) if args.only.exists() else []
        down(only)
    else:
        print(json.dumps(status(), indent=2))


if __name__ == "__main__":
    main()
