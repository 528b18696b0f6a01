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
        members = session_members(self.process.pid)
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=timeout_s)
        _stop_pids(members, timeout_s)
        if self.pid_file and self.pid_file.exists():
            self.pid_file.unlink()


def session_members(leader: int) -> list[int]:
    """Every live process of the session `leader` started (launch() makes each service a session leader).

    Stopping a service's process group is not enough: Airflow's task runner puts each task in a process group of
    its own, and a task that outlived its scheduler (re-parented to init) would keep running after `hs stop`.
    The session id survives both."""
    members = []
    for pid in map(int, filter(str.isdigit, os.listdir("/proc"))):
        try:
            if pid != leader and os.getsid(pid) == leader:
                members.append(pid)
        except (ProcessLookupError, PermissionError):
            continue
    return members


def _stop_pids(pids: list[int], timeout_s: float) -> None:
    """SIGTERM what is still alive of `pids`, SIGKILL what is left after `timeout_s`."""
    def alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
            return True
        except ProcessLookupError:
            return False

    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout_s
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


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
        except ValueError:
            pid = None
        members = session_members(pid) if pid else []
        try:
            if pid:
                os.killpg(pid, signal.SIGTERM)
                deadline = time.monotonic() + timeout_s
                while time.monotonic() < deadline:
                    os.killpg(pid, 0)
                    time.sleep(0.2)
                os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        _stop_pids(members, timeout_s)
        stopped.append(pid_file.stem)
        pid_file.unlink(missing_ok=True)
    return stopped


def start_moto(port: int, log_dir: Path, pid_dir: Path | None = None) -> ManagedProcess:
    """moto_server: the S3 (and SQS) API over real HTTP, in memory, bound to 127.0.0.1 only."""
    proc = launch("moto_server", [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], log_dir, pid_dir=pid_dir)
    wait_for_http(f"http://127.0.0.1:{port}/moto-api/", process=proc.process, log_path=proc.log_path)
    return proc


def start_simulator(kind: str, port: int, log_dir: Path, *, seed: int, candidates: int, employers: int,
                    start: str, end: str, extra_args: list[str] | None = None,
                    pid_dir: Path | None = None) -> ManagedProcess:
    """A source simulator (`hiring_signals.simulators.<kind>`) on 127.0.0.1:`port`; the same seed, sizes and
    window give every simulator the same people."""
    argv = [sys.executable, "-m", f"hiring_signals.simulators.{kind}", "--host", "127.0.0.1", "--port", str(port),
            "--seed", str(seed), "--candidates", str(candidates), "--employers", str(employers),
            "--start", start, "--end", end, *(extra_args or [])]
    proc = launch(f"{kind}_simulator", argv, log_dir, pid_dir=pid_dir)
    wait_for_http(f"http://127.0.0.1:{port}/healthz", timeout_s=120, process=proc.process, log_path=proc.log_path)
    return proc


# --- Spark standalone cluster (master + workers) from the pyspark package -------------------------------

def pyspark_home() -> Path:
    """SPARK_HOME of the installed pyspark wheel (it carries bin/spark-class and jars/)."""
    import pyspark

    return Path(pyspark.__file__).resolve().parent


@dataclass
class SparkCluster:
    """A Spark standalone master and its workers on 127.0.0.1, each in its own process group.

    `master_url` is what HS_SPARK_MASTER (spark-submit --master) takes; `web_ui_url` serves the master's
    state as JSON (`status()`), `worker_ui_urls` each worker's (its executors, running and finished).
    """

    master_url: str
    web_ui_url: str
    worker_ui_urls: list[str]
    master: ManagedProcess
    workers: list[ManagedProcess]
    log_dir: Path

    def status(self) -> dict:
        return requests.get(f"{self.web_ui_url}/json/", timeout=5).json()

    def worker_status(self) -> list[dict]:
        return [requests.get(f"{url}/json/", timeout=5).json() for url in self.worker_ui_urls]

    def stop(self, timeout_s: float = 20.0) -> None:
        """Workers first (each takes its executors down with its process group), then the master."""
        for worker in reversed(self.workers):
            worker.stop(timeout_s)
        self.master.stop(timeout_s)

    def __enter__(self) -> "SparkCluster":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def spark_daemon_env(log_dir: Path, base: dict | None = None) -> dict[str, str]:
    """Environment for spark-class daemons: pyspark's SPARK_HOME, loopback only, every file under log_dir."""
    env = dict(os.environ if base is None else base)
    conf_dir = log_dir / "conf"  # empty on purpose: no spark-env.sh / spark-defaults.conf from elsewhere
    for d in (conf_dir, log_dir / "work", log_dir / "local", log_dir / "run"):
        d.mkdir(parents=True, exist_ok=True)
    env.update({
        "SPARK_HOME": str(pyspark_home()),
        "SPARK_CONF_DIR": str(conf_dir),
        "SPARK_LOG_DIR": str(log_dir),
        "SPARK_PID_DIR": str(log_dir / "run"),
        "SPARK_WORKER_DIR": str(log_dir / "work"),  # executors' working dirs and stdout/stderr
        "SPARK_LOCAL_DIRS": str(log_dir / "local"),  # shuffle and spill
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_MASTER_HOST": "127.0.0.1",
        "SPARK_PUBLIC_DNS": "127.0.0.1",
        "SPARK_DAEMON_MEMORY": env.get("SPARK_DAEMON_MEMORY", "256m"),  # master/worker JVMs, not executors
        "PYSPARK_PYTHON": sys.executable,
    })
    # The master's REST submission server would take the fixed port 6066; jobs here are submitted in client
    # mode (spark-submit from where the task runs), so it is off.
    env["SPARK_MASTER_OPTS"] = " ".join(filter(None, [env.get("SPARK_MASTER_OPTS", ""),
                                                      "-Dspark.master.rest.enabled=false"]))
    return env


def start_spark_standalone(log_dir: Path, workers: int = 2, cores_per_worker: int = 1,
                           memory_per_worker: str = "1g", pid_dir: Path | None = None,
                           timeout_s: float = 120.0, env: dict | None = None) -> SparkCluster:
    """Start `spark-class ...deploy.master.Master` and `workers` x `...deploy.worker.Worker` from the venv's
    pyspark, bound to 127.0.0.1 on free ports, and wait until the master reports them all ALIVE.

    Logs, pid files, work and scratch dirs go under `log_dir` (nothing into the venv). The daemons (and so
    the executors they launch) have PYSPARK_PYTHON = the venv's Python; an application's own PYSPARK_PYTHON
    (spark.pyspark.python), set on its driver, decides what its Python workers run. `env`: the base
    environment (default os.environ). Stop with `.stop()` or use it as a context manager.
    """
    log_dir = Path(log_dir)
    spark_class = str(pyspark_home() / "bin" / "spark-class")
    env = spark_daemon_env(log_dir, env)
    started: list[ManagedProcess] = []
    master_port, master_ui = free_port(), free_port()
    master_url = f"spark://127.0.0.1:{master_port}"
    web_ui_url = f"http://127.0.0.1:{master_ui}"
    try:
        master = launch("spark_master", [spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                                         "--port", str(master_port), "--webui-port", str(master_ui)],
                        log_dir, env=env, pid_dir=pid_dir, cwd=log_dir)
        started.append(master)
        _wait_for_port(master, master_port, timeout_s)  # workers register over RPC; the web UI follows
        worker_procs, worker_uis = [], []
        for n in range(1, workers + 1):
            port, ui = free_port(), free_port()
            work_dir = log_dir / "work" / f"worker-{n}"
            work_dir.mkdir(parents=True, exist_ok=True)
            worker = launch(f"spark_worker_{n}", [spark_class, "org.apache.spark.deploy.worker.Worker",
                                                  "--host", "127.0.0.1", "--port", str(port), "--webui-port", str(ui),
                                                  "--cores", str(cores_per_worker), "--memory", memory_per_worker,
                                                  "--work-dir", str(work_dir), master_url],
                            log_dir, env=env, pid_dir=pid_dir, cwd=log_dir)
            started.append(worker)
            worker_procs.append(worker)
            worker_uis.append(f"http://127.0.0.1:{ui}")
        cluster = SparkCluster(master_url, web_ui_url, worker_uis, master, worker_procs, log_dir)
        _wait_for_alive_workers(cluster, workers, timeout_s)
        return cluster
    except BaseException:
        for proc in reversed(started):
            proc.stop()
        raise


def _wait_for_port(proc: ManagedProcess, port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not port_is_open("127.0.0.1", port):
        if proc.process.poll() is not None:
            tail = proc.log_path.read_text()[-2000:] if proc.log_path.exists() else ""
            raise RuntimeError(f"{proc.name} exited with {proc.process.returncode}:\n{tail}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{proc.name}: port {port} not open after {timeout_s:.0f}s")
        time.sleep(0.2)


def _wait_for_alive_workers(cluster: SparkCluster, expected: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    alive = 0
    while time.monotonic() < deadline:
        for proc in (cluster.master, *cluster.workers):
            if proc.process.poll() is not None:
                tail = proc.log_path.read_text()[-2000:] if proc.log_path.exists() else ""
                raise RuntimeError(f"{proc.name} exited with {proc.process.returncode}:\n{tail}")
        try:
            state = cluster.status()
            alive = sum(1 for w in state.get("workers", []) if w.get("state") == "ALIVE")
            if alive >= expected:
                return
        except (requests.RequestException, ValueError):
            pass
        time.sleep(0.25)
    raise TimeoutError(f"Spark master {cluster.master_url}: {alive} of {expected} workers ALIVE after {timeout_s:.0f}s")
