"""Warm imports for an Airflow scheduler running the LocalExecutor, so every task process starts warm.

The LocalExecutor forks its workers from the scheduler process and each task process from a worker, and every
task process then imports what its DAG file and operator need. For the publish DAG that is dbt, its adapters and
astronomer-cosmos: measured here, that import is most of a dbt task's time (one task per model; the model itself
runs in about a second). Imported once in the scheduler, they are inherited by every fork instead.

Loaded through Airflow's own hook: `$AIRFLOW_HOME/config/airflow_local_settings.py` (written by
`hiring_signals.airflow_local` for the embedded deployment; a real deployment may ship the same two lines)
calls `preload_for_scheduler()`. Only the scheduler preloads: the API server, DAG processor and triggerer never
run dbt, and the DAG processor must stay light.
"""

from __future__ import annotations

import importlib
import logging
import sys

log = logging.getLogger(__name__)

# What a dbt task imports before its model runs (dbt's CLI and both adapters, cosmos' local operators) and what the
# publish DAG file itself imports.
PRELOADED_MODULES = (
    "dbt.cli.main",
    "dbt.adapters.duckdb",
    "dbt.adapters.postgres",
    "cosmos",
    "cosmos.operators.local",
    "hiring_signals.warehouse.cosmos_config",
    "hiring_signals.pipeline",
)

LOCAL_SETTINGS_SOURCE = (
    "# Written by hiring_signals.airflow_local: warm the scheduler's imports for forked task processes.\n"
    "from hiring_signals.airflow_preload import preload_for_scheduler as _preload\n"
    "\n"
    "__all__: list[str] = []  # nothing here overrides Airflow's settings or policies\n"
    "_preload()\n"
)


def is_scheduler_process(argv: list[str] | None = None) -> bool:
    argv = sys.argv if argv is None else argv
    return len(argv) > 1 and argv[1] == "scheduler"


def preload_for_scheduler(argv: list[str] | None = None, modules: tuple[str, ...] = PRELOADED_MODULES) -> list[str]:
    """Import `modules` when this process is `airflow scheduler`; returns what was imported.

    A module that fails to import is logged and left out: the task that needs it then fails with the real error
    in its own log, where the operator looks, rather than the scheduler refusing to start.
    """
    if not is_scheduler_process(argv):
        return []
    loaded = []
    for name in modules:
        try:
            importlib.import_module(name)
            loaded.append(name)
        except Exception:  # noqa: BLE001 - see docstring: reported by the task that needs it
            log.warning("could not preload %s for task processes", name, exc_info=True)
    return loaded
