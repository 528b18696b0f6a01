"""The scheduler-only import warm-up that task processes forked by the LocalExecutor inherit."""

from __future__ import annotations

import logging
import sys

from hiring_signals.airflow_preload import LOCAL_SETTINGS_SOURCE, is_scheduler_process, preload_for_scheduler


def test_only_the_scheduler_preloads():
    assert is_scheduler_process(["/venv/bin/airflow", "scheduler"])
    for argv in (["airflow", "dag-processor"], ["airflow", "api-server"], ["airflow", "triggerer"],
                 ["airflow", "dags", "test", "x"], ["pytest"]):
        assert not is_scheduler_process(argv)
        assert preload_for_scheduler(argv, modules=("colorsys",)) == []


def test_the_scheduler_imports_the_modules_and_reports_one_that_fails(caplog):
    sys.modules.pop("colorsys", None)
    with caplog.at_level(logging.WARNING, logger="hiring_signals.airflow_preload"):
        loaded = preload_for_scheduler(["airflow", "scheduler"], modules=("colorsys", "no_such_module_hs"))
    assert loaded == ["colorsys"] and "colorsys" in sys.modules
    assert "could not preload no_such_module_hs" in caplog.text


def test_the_default_modules_import(tmp_path):
    # What the scheduler will import must exist in this environment (a renamed module would only log a warning).
    assert preload_for_scheduler(["airflow", "scheduler"]) == list(__import__(
        "hiring_signals.airflow_preload", fromlist=["PRELOADED_MODULES"]).PRELOADED_MODULES)


def test_local_settings_file_exports_nothing_to_airflow(tmp_path):
    namespace: dict = {}
    exec(compile(LOCAL_SETTINGS_SOURCE, "airflow_local_settings.py", "exec"), namespace)  # not the scheduler here
    assert namespace["__all__"] == []
