"""A real Airflow 3 deployment on one machine: API server, scheduler, DAG processor and triggerer as
separate processes with the LocalExecutor, driven through the CLI and the REST API. The demo and the end-to-end test
both use it, so the DAG chain is triggered the way production triggers it: by the scheduler, on Assets.

This module runs Airflow as subprocesses and imports nothing from Airflow itself.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from hiring_signals.config import REPO_ROOT, Settings
from hiring_signals.embedded import ManagedProcess, free_port, launch, wait_for_http

BIN = Path(sys.executable).parent
TERMINAL_STATES = {"success", "failed"}
# How long a launched scheduler may take to start up and write its first heartbeat before it can be judged stale.
SCHEDULER_START_UP_S = 60


def airflow_env(settings: Settings, *, api_port: int, hs_env: dict[str, str], dags_folder: Path | None = None) -> dict[str, str]:
    """Environment for every Airflow process: Airflow's own settings plus the project's HS_* settings."""
    home = settings.airflow_home
    # Only the given HS_* settings reach the tasks: nothing leaks in from the caller's shell.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "HS_"))}
    env.update(hs_env)
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder or REPO_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": settings.airflow_db_conn,
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api_port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        # Loopback-only embedded deployment: every caller is an admin. Never set this on a shared server.
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "10",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        # cosmos reports usage to an internet endpoint after every dbt task by default: nothing leaves this machine.
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
        "PYTHONPATH": os.pathsep.join(p for p in [str(REPO_ROOT), os.environ.get("PYTHONPATH", "")] if p),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    })
    return env


@dataclass
class LocalAirflow:
    settings: Settings
    hs_env: dict[str, str]
    api_port: int
    log_dir: Path
    pid_dir: Path | None = None
    dags_folder: Path | None = None
    processes: list[ManagedProcess] = field(default_factory=list)
    scheduler_restarts: int = 0
    scheduler_launched_at: float = 0.0  # time.monotonic() of the scheduler's latest launch

    def __post_init__(self):
        self.env = airflow_env(self.settings, api_port=self.api_port, hs_env=self.hs_env, dags_folder=self.dags_folder)
        self.api = f"http://127.0.0.1:{self.api_port}/api/v2"
        self._session = requests.Session()

    # --- lifecycle --------------------------------------------------------------------------------------

    def cli(self, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
        done = subprocess.run([str(BIN / "airflow"), *args], env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(args)} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return done

    def init_db(self) -> None:
        Path(self.env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
        self.cli("db", "migrate")

    def start(self, scheduler: bool = True) -> None:
        """Start the API server, DAG processor and triggerer, and (unless `scheduler` is False: see
        `start_scheduler`) the scheduler."""
        # Staging the dbt project (copy + `dbt parse`, ~10 s) here, before the dag-processor starts, keeps it out
        # of the first parse of hs_publish_warehouse, which would otherwise do it and blow the parse budget.
        from hiring_signals.warehouse.cosmos_config import stage_dbt_project

        stage_dbt_project(self.settings)
        self.write_local_settings()
        # The triggerer runs deferred tasks' triggers and the AssetWatchers of event-driven DAGs (the SQS
        # watcher of recruiter drops); without it those DAGs would never be triggered.
        for name, args in (("airflow-api-server", ["api-server"]), ("airflow-dag-processor", ["dag-processor"]),
                           ("airflow-triggerer", ["triggerer"])):
            self.processes.append(launch(name, [str(BIN / "airflow"), *args], self.log_dir, env=self.env,
                                         pid_dir=self.pid_dir))
        if scheduler:
            self.start_scheduler()
        api = self.processes[0]
        wait_for_http(f"{self.api}/monitor/health", timeout_s=180, process=api.process, log_path=api.log_path)

    def start_scheduler(self) -> None:
        """Launch the scheduler. A caller that creates backfills of many runs does that first and starts the
        scheduler afterwards: on the SQLite metadata DB, a scheduler loop that meets runs a backfill is creating
        can die of it (ObjectDeletedError on a DagRun, seen in the demo) and needs a restart."""
        self.processes.append(launch("airflow-scheduler", [str(BIN / "airflow"), "scheduler"], self.log_dir,
                                     env=self.env, pid_dir=self.pid_dir))
        self.scheduler_launched_at = time.monotonic()

    def write_local_settings(self) -> Path:
        """$AIRFLOW_HOME/config/airflow_local_settings.py: the scheduler preloads dbt and cosmos, so the task
        processes the LocalExecutor forks from it start warm (see hiring_signals.airflow_preload)."""
        from hiring_signals.airflow_preload import LOCAL_SETTINGS_SOURCE

        path = Path(self.env["AIRFLOW_HOME"]) / "config" / "airflow_local_settings.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(LOCAL_SETTINGS_SOURCE)
        return path

    def ensure_scheduler_alive(self, stale_after_s: float = 45) -> bool:
        """Restart the scheduler when its loop has died; True if it did.

        On the embedded SQLite metadata DB a write race (e.g. a backfill created while the scheduler updates the
        same DAG runs) can raise StaleDataError out of the scheduler loop; the process then stops heartbeating
        but does not exit. A production deployment's supervisor restarts it; this is that supervisor.
        """
        from datetime import datetime, timezone

        scheduler = next((p for p in self.processes if p.name == "airflow-scheduler"), None)
        if scheduler is None:
            return False
        health = self.get("/monitor/health").get("scheduler", {})
        beat = health.get("latest_scheduler_heartbeat")
        age = (datetime.now(timezone.utc) - datetime.fromisoformat(beat)).total_seconds() if beat else None
        exited = scheduler.process.poll() is not None
        # The heartbeat read is its predecessor's until a freshly launched scheduler has started up and beaten
        # (tens of seconds on a busy machine): judging it by that one would restart it again and again.
        starting = time.monotonic() - self.scheduler_launched_at < stale_after_s + SCHEDULER_START_UP_S
        if not exited and (starting or health.get("status") == "healthy" or age is None or age < stale_after_s):
            return False
        scheduler.stop()
        self.processes[self.processes.index(scheduler)] = launch(
            "airflow-scheduler", [str(BIN / "airflow"), "scheduler"], self.log_dir, env=self.env, pid_dir=self.pid_dir)
        self.scheduler_launched_at = time.monotonic()
        self.scheduler_restarts += 1
        print(f"  (restarted the Airflow scheduler: {'it exited' if exited else f'no heartbeat for {age:.0f}s'}; "
              f"see {scheduler.log_path})", flush=True)
        return True

    def stop(self) -> None:
        for proc in reversed(self.processes):
            proc.stop()
        self.processes.clear()

    # --- REST API ---------------------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs) -> dict:
        # SQLite (the embedded metadata DB) allows one writer: the API answers 503 "database is locked" while
        # the scheduler writes. Such answers are retried briefly; anything else is raised with its body.
        for attempt in range(30):
            response = self._session.request(method, f"{self.api}{path}", timeout=60, **kwargs)
            # ...or, depending on where the lock bites, a 500 "Database error" (the transaction was rolled back)
            locked = response.status_code == 503 or (response.status_code == 500 and "Database error" in response.text)
            if not locked:
                break
            time.sleep(min(0.5 * (attempt + 1), 3))
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path} -> {response.status_code}: {response.text[:2000]}")
        return response.json()

    def get(self, path: str, **params) -> dict:
        return self._request("GET", path, params=params)

    def post(self, path: str, body: dict) -> dict:
        return self._request("POST", path, json=body)

    def set_paused(self, dag_id: str, paused: bool = True) -> dict:
        return self._request("PATCH", f"/dags/{dag_id}", json={"is_paused": paused})

    def wait_for_dags(self, dag_ids: list[str], timeout_s: float = 240) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            known = {d["dag_id"] for d in self.get("/dags", limit=100)["dags"]}
            if set(dag_ids) <= known:
                return
            time.sleep(2)
        errors = self.get("/importErrors").get("import_errors", [])
        raise TimeoutError(f"DAGs {sorted(set(dag_ids) - known)} not registered after {timeout_s:.0f}s; import errors: {errors}")

    def import_errors(self) -> list[dict]:
        return self.get("/importErrors").get("import_errors", [])

    def dag_runs(self, dag_id: str) -> list[dict]:
        runs, offset = [], 0
        while True:
            page = self.get(f"/dags/{dag_id}/dagRuns", limit=100, offset=offset, order_by="run_after")
            runs.extend(page["dag_runs"])
            offset += len(page["dag_runs"])
            if not page["dag_runs"] or offset >= page["total_entries"]:
                return runs

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]

    def backfill(self, dag_id: str, from_date: str, to_date: str, max_active_runs: int = 4) -> dict:
        return self.post("/backfills", {"dag_id": dag_id, "from_date": from_date, "to_date": to_date,
                                        "max_active_runs": max_active_runs, "reprocess_behavior": "completed"})

    def failed_tasks(self, dag_ids: list[str]) -> list[str]:
        failures = []
        for dag_id in dag_ids:
            for run in self.dag_runs(dag_id):
                if run["state"] == "failed":
                    for ti in self.task_instances(dag_id, run["dag_run_id"]):
                        if ti["state"] in {"failed", "upstream_failed"}:
                            failures.append(f"{dag_id}/{run['dag_run_id']}/{ti['task_id']} ({ti['state']})")
        return failures
