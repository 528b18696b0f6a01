"""`make bench-dbt-tasks`: what one cosmos dbt task costs before its SQL runs, cold versus forked warm.

The publish DAG runs dbt as one Airflow task per model/seed. Each task is a process the LocalExecutor forks; what it
pays before its model runs is the dbt import (CLI, adapter) and dbt's start-up (partial parse, adapter registration).
This times one small, fixed piece of dbt work (`dbt build --select signal_catalog`: a 30-row seed and its tests)

  cold   in a new Python process that imports dbt first (a task process without the preload)
  warm   in a child forked from a parent that imported hiring_signals.airflow_preload.PRELOADED_MODULES
         (a task process forked from the preloading scheduler)

interleaved, ROUNDS each, medians side by side; then what that means for one publication at the task counts of the
two renderings (`after_each`: a run task and a test task per node, one task per cross-model test; `build`: one
task per node, one task for all cross-model tests).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hiring_signals.config import SETTINGS_DOC  # noqa: E402  (the documented default)

ROUNDS = int(os.environ.get("HS_BENCH_DBT_ROUNDS") or next(s.default for s in SETTINGS_DOC if s.name == "HS_BENCH_DBT_ROUNDS"))
SELECT = "signal_catalog"

CHILD = r"""
import sys, time
t0 = time.perf_counter()
from dbt.cli.main import dbtRunner
result = dbtRunner().invoke(sys.argv[1:])
print("ELAPSED", time.perf_counter() - t0, result.success)
"""


def _dbt_args(project_dir: Path, profiles_dir: Path, target: str) -> list[str]:
    return ["build", "--indirect-selection", "cautious", "--select", SELECT, "--project-dir", str(project_dir), "--profiles-dir", str(profiles_dir),
            "--target", target, "--target-path", str(project_dir / "target"), "--log-path", str(project_dir / "logs"),
            "--quiet"]


def _task_project(root: Path, staged_project: Path) -> Path:
    """What cosmos gives each task: a temporary project of symlinks to the staged one, seeded with the stage's
    partial parse (its paths patched to the new directory)."""
    from cosmos.cache import _copy_partial_parse_to_project
    from cosmos.dbt.project import create_symlinks

    project = Path(tempfile.mkdtemp(dir=root))
    create_symlinks(staged_project, project, ignore_dbt_packages=True)
    _copy_partial_parse_to_project(staged_project / "target" / "partial_parse.msgpack", project)
    return project


def _cold(args: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD, *args], env=env, capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - t0
    if "ELAPSED" not in done.stdout or not done.stdout.strip().endswith("True"):
        raise SystemExit(f"dbt failed in the cold process:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return elapsed


def _warm(args: list[str]) -> float:
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: what a task process forked from the preloaded scheduler does
        from dbt.cli.main import dbtRunner

        os._exit(0 if dbtRunner().invoke(args).success else 1)
    _, status = os.waitpid(pid, 0)
    elapsed = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("dbt failed in the forked child")
    return elapsed


def _task_counts(manifest: dict) -> dict[str, int]:
    from hiring_signals.warehouse.cosmos_config import cross_model_tests

    nodes = manifest["nodes"].values()
    built = [n for n in nodes if n["resource_type"] in {"model", "seed"}]
    tested = {p for n in nodes if n["resource_type"] == "test" for p in n["depends_on"]["nodes"]}
    tested |= {p for t in manifest.get("unit_tests", {}).values() for p in t["depends_on"]["nodes"]}
    across = len(cross_model_tests(manifest))
    return {"after_each": len(built) + sum(n["unique_id"] in tested for n in built) + across,
            "build": len(built) + (1 if across else 0)}


def main() -> None:
    from hiring_signals.airflow_preload import PRELOADED_MODULES, preload_for_scheduler
    from hiring_signals.config import load_settings
    from hiring_signals.warehouse.cosmos_config import stage_dbt_project
    from hiring_signals.warehouse.dbt_runner import DBT_PROJECT_DIR

    root = Path(tempfile.mkdtemp(prefix="hs-bench-dbt-"))
    try:
        settings = load_settings({"HS_HOME": str(root / "home"), "HS_DUCKDB_PATH": str(root / "warehouse.duckdb"),
                                  "HS_WAREHOUSE_TARGET": "duckdb", "HS_WAREHOUSE_SCHEMA": "bench"})
        staged = stage_dbt_project(settings)
        env = {**os.environ, **settings.warehouse.dbt_env(), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        os.environ.update(env)
        preload_for_scheduler(["airflow", "scheduler"], PRELOADED_MODULES)  # this process = the scheduler

        def args() -> list[str]:
            return _dbt_args(_task_project(root, staged.project_dir), DBT_PROJECT_DIR, settings.warehouse.target)

        _warm(args())  # creates the seed's tables once, so every timed round does the same (replace) work
        cold, warm = [], []
        for _ in range(ROUNDS):
            cold.append(_cold(args(), env))
            warm.append(_warm(args()))
        cold_s, warm_s = statistics.median(cold), statistics.median(warm)
        counts = _task_counts(json.loads(staged.manifest_path.read_text()))

        print(f"\ndbt task start-up (`dbt build --select {SELECT}` on DuckDB); median of {ROUNDS} interleaved rounds\n")
        print(f"{'process':<46}{'median s':>10}{'min s':>8}{'max s':>8}")
        print(f"{'cold: new interpreter, imports dbt':<46}{cold_s:>10.2f}{min(cold):>8.2f}{max(cold):>8.2f}")
        print(f"{'warm: forked from a preloaded parent':<46}{warm_s:>10.2f}{min(warm):>8.2f}{max(warm):>8.2f}")
        print(f"{'cold / warm':<46}{cold_s / warm_s:>9.1f}x")
        print(f"\nper publication (dbt start-up only; Airflow's own per-task overhead and the SQL come on top)\n")
        print(f"{'rendering':<14}{'tasks':>7}{'cold s':>10}{'warm s':>10}")
        for name, n in counts.items():
            print(f"{name:<14}{n:>7}{n * cold_s:>10.0f}{n * warm_s:>10.0f}")
        print(f"\nload average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
