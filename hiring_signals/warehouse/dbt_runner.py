"""Run dbt (the project in dbt_project/) programmatically against the configured warehouse target.

`run_dbt(["build"], settings)` invokes dbt in-process through `dbtRunner` with:
- --project-dir / --profiles-dir = dbt_project/ (profiles.yml there reads env_var() only),
- --target = settings.target, and the profile's environment from settings.dbt_env(), set in os.environ for the
  duration of the call and restored afterwards,
- --target-path / --log-path under `log_dir` (or a temporary directory removed afterwards), so runs for different
  targets or schemas never collide and nothing is written into dbt_project/target.

dbtRunner is not thread-safe and dbt keeps process-global state: run one invocation at a time per process.
On DuckDB, dbt holds the database file for the whole invocation (no other process can open it meanwhile);
run_dbt closes dbt-duckdb's process-wide database handle afterwards so the file is released when it returns.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from hiring_signals.config import REPO_ROOT, WarehouseSettings

DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"

_FAILED_STATUSES = {"error", "fail", "runtime error"}
_lock = threading.Lock()


@dataclass(frozen=True)
class DbtNodeResult:
    unique_id: str
    name: str
    resource_type: str  # model | seed | test | unit_test | snapshot | ...
    status: str  # success | pass | error | fail | warn | skipped | ...
    failures: int | None
    message: str | None
    execution_time: float

    @property
    def failed(self) -> bool:
        return self.status in _FAILED_STATUSES


@dataclass
class DbtResult:
    args: list[str]
    target: str
    success: bool
    nodes: list[DbtNodeResult] = field(default_factory=list)
    elapsed_s: float = 0.0
    target_path: Path | None = None  # None when the artifacts lived in a temporary directory
    exception: BaseException | None = None

    @property
    def failed_nodes(self) -> list[DbtNodeResult]:
        return [n for n in self.nodes if n.failed]

    def node(self, name: str) -> DbtNodeResult:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(f"no node named {name!r} in this dbt result")

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for n in self.nodes:
            out[n.status] = out.get(n.status, 0) + 1
        return out

    def summary(self) -> str:
        counts = ", ".join(f"{k}={v}" for k, v in sorted(self.counts().items()))
        return f"dbt {' '.join(self.args)} on {self.target}: {'ok' if self.success else 'FAILED'} ({counts}) in {self.elapsed_s:.1f}s"


class DbtBuildFailed(RuntimeError):
    """dbt reported failure; `.result` has every node, the message names the failed ones."""

    def __init__(self, result: DbtResult):
        self.result = result
        failed = result.failed_nodes
        if failed:
            lines = [
                f"  {n.resource_type} {n.name}: {n.status}"
                + (f" ({n.failures} failing rows)" if n.failures else "")
                + (f" - {_first_line(n.message)}" if n.message else "")
                for n in failed
            ]
            detail = "\n".join(lines)
        elif result.exception is not None:
            detail = f"  {type(result.exception).__name__}: {result.exception}"
        else:
            detail = "  (no node failed; see the dbt log)"
        super().__init__(f"dbt {' '.join(result.args)} failed on target {result.target!r}:\n{detail}")

    @property
    def failed_names(self) -> list[str]:
        return [n.name for n in self.result.failed_nodes]


def _first_line(message: str, limit: int = 300) -> str:
    line = " ".join(message.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _node_results(res) -> list[DbtNodeResult]:
    results = getattr(res, "results", None) or []
    out = []
    for r in results:
        node = getattr(r, "node", None)
        status = getattr(r, "status", "")
        out.append(
            DbtNodeResult(
                unique_id=getattr(node, "unique_id", "") or "",
                name=getattr(node, "name", "") or "",
                resource_type=str(getattr(node, "resource_type", "") or ""),
                status=str(getattr(status, "value", status)),
                failures=getattr(r, "failures", None),
                message=getattr(r, "message", None),
                execution_time=float(getattr(r, "execution_time", 0.0) or 0.0),
            )
        )
    return out


def _release_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open in-process after an invocation.

    dbt-duckdb caches one database instance per process (DuckDBConnectionManager._ENV, `keep_open` defaults to
    true) and only drops it at interpreter exit, so without this the warehouse file stays locked against every
    other process (the CLI, a notebook, the next Airflow task) for as long as this process lives.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # dbt-duckdb not installed
        return
    with DuckDBConnectionManager._LOCK:
        env = DuckDBConnectionManager._ENV
        DuckDBConnectionManager._ENV = None
        if env is not None:
            env.close()


def run_dbt(
    args: list[str],
    settings: WarehouseSettings,
    *,
    log_dir: Path | None = None,
    raise_on_failure: bool = True,
) -> DbtResult:
    """Invoke `dbt <args>` on settings.target; return per-node results, raise DbtBuildFailed on failure.

    `log_dir` keeps target/ (manifest, run_results.json, compiled SQL) and logs/ under it; without it a temporary
    directory is used and removed. Pass raise_on_failure=False to get the failed DbtResult back instead.
    """
    from dbt.cli.main import dbtRunner

    if settings.target == "duckdb":
        settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)

    tmp = None
    if log_dir is None:
        tmp = tempfile.mkdtemp(prefix="hs-dbt-")
        base = Path(tmp)
    else:
        base = Path(log_dir)
        base.mkdir(parents=True, exist_ok=True)
    target_path = base / "target"
    log_path = base / "logs"

    cli_args = [
        *args,
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target", settings.target,
        "--target-path", str(target_path),
        "--log-path", str(log_path),
    ]
    env = {
        **settings.dbt_env(),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_NO_VERSION_CHECK": "true",
    }

    with _lock:
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        started = time.monotonic()
        try:
            res = dbtRunner().invoke(cli_args)
        finally:
            if settings.target == "duckdb":
                _release_duckdb()
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            elapsed = time.monotonic() - started
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)

    result = DbtResult(
        args=list(args),
        target=settings.target,
        success=bool(res.success),
        nodes=_node_results(res.result),
        elapsed_s=elapsed,
        target_path=None if tmp is not None else target_path,
        exception=res.exception,
    )
    if not result.success and raise_on_failure:
        raise DbtBuildFailed(result) from res.exception
    return result
