"""Background processes with pid files, for the local stack."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


def port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def read_pid(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def is_running(pidfile: Path) -> bool:
    pid = read_pid(pidfile)
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie left by a parent that has not reaped it yet is not running.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (FileNotFoundError, IndexError):
        return True


def start_background(
    cmd: list[str], *, pidfile: Path, logfile: Path, env: dict[str, str] | None = None
) -> subprocess.Popen:
    """Start a detached process (own session, so Ctrl-C in a terminal is ours to forward)."""
    logfile.parent.mkdir(parents=True, exist_ok=True)
    pidfile.parent.mkdir(parents=True, exist_ok=True)
    with open(logfile, "ab") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, env=env,
        )
    pidfile.write_text(str(proc.pid))
    return proc


def stop_pid(pidfile: Path, name: str, *, timeout: float) -> None:
    """SIGTERM, wait for a clean exit, SIGKILL as a last resort."""
    pid = read_pid(pidfile)
    if pid is None or not is_running(pidfile):
        pidfile.unlink(missing_ok=True)
        return
    print(f"[infra] stopping {name}", flush=True)
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and is_running(pidfile):
        time.sleep(0.2)
    if is_running(pidfile):
        os.kill(pid, signal.SIGKILL)
    pidfile.unlink(missing_ok=True)


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""


def wait_for(
    check: Callable[[], bool], timeout: float, what: str, *,
    logfile: Path | None = None, pidfile: Path | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if pidfile is not None and not is_running(pidfile):
            break
        time.sleep(0.25)
    detail = f"\n--- {logfile} ---\n{tail(logfile)}" if logfile else ""
    raise SystemExit(f"timed out waiting for {what}{detail}")
