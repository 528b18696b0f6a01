"""Start and stop the embedded stand-ins for real services (S3/SQS endpoint, source simulators) on
loopback. Used by the demo and by test fixtures alike, so both exercise the same launch path."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def wait_for_http(url: str, timeout_s: float = 60.0, process: subprocess.Popen | None = None,
                  log_path: Path | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    last_error = ""
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            tail = log_path.read_text()[-2000:] if log_path and log_path.exists() else ""
            raise RuntimeError(f"process for {url} exited with {process.returncode} before it was ready:\n{tail}")
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException as exc:
            last_error = str(exc)
        time.sleep(0.2)
    raise TimeoutError(f"{url} not ready after {timeout_s:.0f}s ({last_error})")


@dataclass
class ManagedProcess:
    name: str
    process: subprocess.Popen
    log_path: Path
    pid_file: Path | None = None

    def stop(self, timeout_s: float = 15.0) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=timeout_s)
        if self.pid_file and self.pid_file.exists():
            self.pid_file.unlink()


def launch(name: str, argv: list[str], log_dir: Path, env: dict | None = None, pid_dir: Path | None = None,
           cwd: Path | None = None) -> ManagedProcess:
    """Start a process in its own process group (so stopping it stops its children), logging to a file."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    log = open(log_path, "ab")
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True)
    log.close()
    pid_file = None
    if pid_dir is not None:
        pid_dir.mkdir(parents=True, exist_ok=True)
        pid_file = pid_dir / f"{name}.pid"
        pid_file.write_text(str(process.pid))
    return ManagedProcess(name, process, log_path, pid_file)


def stop_pid_files(pid_dir: Path, timeout_s: float = 20.0) -> list[str]:
    """Stop every process group recorded in pid_dir (left by an earlier demo); returns what it stopped."""
    stopped = []
    if not pid_dir.is_dir():
        return stopped
    for pid_file in sorted(pid_dir.glob("*.pid")):
        try:
            pid = int(pid_file.read_text().strip())
            os.killpg(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                os.killpg(pid, 0)
                time.sleep(0.2)
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, ValueError, PermissionError):
            pass
        stopped.append(pid_file.stem)
        pid_file.unlink(missing_ok=True)
    return stopped


def start_moto(port: int, log_dir: Path, pid_dir: Path | None = None) -> ManagedProcess:
    """moto_server: the S3 (and SQS) API over real HTTP, in memory, bound to 127.0.0.1 only."""
    proc = launch("moto_server", [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], log_dir, pid_dir=pid_dir)
    wait_for_http(f"http://127.0.0.1:{port}/moto-api/", process=proc.process, log_path=proc.log_path)
    return proc


def start_marketplace_simulator(port: int, log_dir: Path, *, seed: int, candidates: int, employers: int,
                                start: str, end: str, extra_args: list[str] | None = None,
                                pid_dir: Path | None = None) -> ManagedProcess:
    argv = [sys.executable, "-m", "hiring_signals.simulators.marketplace", "--host", "127.0.0.1", "--port", str(port),
            "--seed", str(seed), "--candidates", str(candidates), "--employers", str(employers),
            "--start", start, "--end", end, *(extra_args or [])]
    proc = launch("marketplace_simulator", argv, log_dir, pid_dir=pid_dir)
    wait_for_http(f"http://127.0.0.1:{port}/healthz", timeout_s=120, process=proc.process, log_path=proc.log_path)
    return proc


def start_gig_simulator(port: int, log_dir: Path, *, seed: int, candidates: int, employers: int,
                        start: str, end: str, extra_args: list[str] | None = None,
                        pid_dir: Path | None = None) -> ManagedProcess:
    """The gig platform simulator; the same seed, sizes and window as the marketplace's share its people."""
    argv = [sys.executable, "-m", "hiring_signals.simulators.gig", "--host", "127.0.0.1", "--port", str(port),
            "--seed", str(seed), "--candidates", str(candidates), "--employers", str(employers),
            "--start", start, "--end", end, *(extra_args or [])]
    proc = launch("gig_simulator", argv, log_dir, pid_dir=pid_dir)
    wait_for_http(f"http://127.0.0.1:{port}/healthz", timeout_s=120, process=proc.process, log_path=proc.log_path)
    return proc
