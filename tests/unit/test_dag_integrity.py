"""DAG files import cleanly, stay light at parse time, retry sanely, and are wired by Assets."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DAGS = REPO / "dags"
# cosmos itself is imported at parse time (hs_publish_warehouse renders its task group from a staged manifest);
# it must not drag dbt in.
HEAVY = ["pyspark", "great_expectations", "dbt", "duckdb", "boto3", "pandas", "pyarrow", "hiring_signals.ingest"]

PROBE = r"""
import json, os, sys, time
sys.path.insert(0, os.environ["DAGS"])
from airflow.dag_processing.dagbag import DagBag
def asset_names(cond):
    if cond is None:
        return []
    if hasattr(cond, "objects"):
        return [n for o in cond.objects for n in asset_names(o)]
    return [cond.name] if hasattr(cond, "name") else []
heavy_before = {m for m in HEAVY if m in sys.modules}
t0 = time.perf_counter()
bag = DagBag(dag_folder=os.environ["DAGS"])
elapsed = time.perf_counter() - t0
out = {"errors": {k: str(v) for k, v in bag.import_errors.items()}, "elapsed": elapsed,
       "heavy": sorted(m for m in HEAVY if m in sys.modules and m not in heavy_before), "dags": {}}
for dag_id, dag in bag.dags.items():
    out["dags"][dag_id] = {
        "tasks": {t.task_id: {"retries": t.retries, "outlets": [getattr(o, "name", None) for o in t.outlets],
                              "priority_weight": t.priority_weight, "weight_rule": str(getattr(t.weight_rule, "value", t.weight_rule))} for t in dag.tasks},
        "schedule_assets": sorted(asset_names(getattr(dag.timetable, "asset_condition", None))),
        "timetable": type(dag.timetable).__name__, "catchup": dag.catchup, "max_active_runs": dag.max_active_runs,
        "max_active_tasks": dag.max_active_tasks,
        "upstream": {t.task_id: sorted(t.upstream_task_ids) for t in dag.tasks},
    }
print("RESULT" + json.dumps(out))
"""


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory):
    home = tmp_path_factory.mktemp("airflow-home")
    env = {**os.environ, "DAGS": str(DAGS), "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db", "HS_HOME": str(home)}
    # Set-up step (as `hs dbt-parse` in make/demo): stage the dbt project and its manifest once, so the timed
    # parse below is the steady state every later parse sees.
    staged = subprocess.run([sys.executable, "-m", "hiring_signals.cli", "dbt-parse"], env=env, capture_output=True,
                            text=True, timeout=300)
    assert staged.returncode == 0, staged.stdout[-2000:] + staged.stderr[-3000:]
    code = f"HEAVY = {HEAVY!r}\n" + PROBE
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    lines = [l for l in done.stdout.splitlines() if l.startswith("RESULT")]
    assert lines, done.stdout[-2000:] + done.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT"):])


def test_no_import_errors(dagbag):
    assert dagbag["errors"] == {}
    assert set(dagbag["dags"]) == {"hs_ingest_marketplace", "hs_ingest_gig", "hs_build_signals", "hs_publish_warehouse",
                                   "hs_ingest_recruiter_drops"}


def test_parsing_does_no_heavy_work(dagbag):
    assert dagbag["heavy"] == [], "DAG files must defer engine imports into tasks"
    assert dagbag["elapsed"] < 10


def test_every_task_retries(dagbag):
    for dag_id, dag in dagbag["dags"].items():
        for task_id, task in dag["tasks"].items():
            assert task["retries"] >= 1, f"{dag_id}.{task_id} has no retries"


def test_spark_and_dbt_tasks_take_free_slots_before_ingestion(dagbag):
    """A backfill queues many ingestion tasks; the publications they trigger must not queue behind them."""
    dags = dagbag["dags"]
    # whatever the weight rule, no ingestion task's effective weight exceeds the sum of its DAG's weights
    ingest = max(sum(t["priority_weight"] for t in dag["tasks"].values())
                 for dag_id, dag in dags.items() if dag_id.startswith("hs_ingest_"))
    for dag_id in ("hs_build_signals", "hs_publish_warehouse"):
        for task_id, task in dags[dag_id]["tasks"].items():
            assert task["weight_rule"] == "absolute" and task["priority_weight"] > ingest, \
                f"{dag_id}.{task_id}: {task['weight_rule']} weight {task['priority_weight']} vs ingestion's up to {ingest}"


def test_stages_are_wired_by_assets(dagbag):
    dags = dagbag["dags"]
    assert dags["hs_ingest_marketplace"]["tasks"]["load"]["outlets"] == ["raw_events__marketplace"]
    assert dags["hs_ingest_gig"]["tasks"]["load"]["outlets"] == ["raw_events__gig"]
    assert dags["hs_build_signals"]["schedule_assets"] == ["raw_events__gig", "raw_events__marketplace",
                                                           "raw_events__recruiter"]
    assert dags["hs_build_signals"]["tasks"]["build_candidate_signals"]["outlets"] == ["curated_candidate_signals"]
    assert dags["hs_publish_warehouse"]["schedule_assets"] == ["curated_candidate_signals"]
    assert dags["hs_publish_warehouse"]["tasks"]["export_feed"]["outlets"] == ["feed_candidate_signals_v1"]
    assert dags["hs_publish_warehouse"]["tasks"]["gate_marts"]["outlets"] == ["warehouse_marts"]


def test_warehouse_publishes_through_dbt_tasks_then_the_gate(dagbag):
    publish = dagbag["dags"]["hs_publish_warehouse"]
    tasks, upstream = publish["tasks"], publish["upstream"]
    dbt_tasks = {t for t in tasks if t.startswith("dbt.")}
    assert dbt_tasks >= {"dbt.dim_candidates_model_build", "dbt.candidate_signal_feed_model_build", "dbt.cross_model_tests"}
    # each model/seed Asset is emitted exactly once, by a dbt task; warehouse_marts only by the gate
    emitted = sorted(o for t in dbt_tasks for o in tasks[t]["outlets"])
    assert len(emitted) == len(set(emitted)) and "warehouse__dim_candidates" in emitted
    assert all(o.startswith("warehouse__") for o in emitted)
    roots = {t for t in dbt_tasks if not set(upstream[t]) & dbt_tasks}
    assert roots and all(upstream[t] == ["load_curated"] for t in roots)
    leaves = {t for t in dbt_tasks if not any(t in upstream[o] for o in dbt_tasks)}
    assert leaves == {"dbt.cross_model_tests"}  # the tests spanning models run last; the gate waits for them
    assert set(upstream["gate_marts"]) == leaves | {"resolve_as_of_date"}
    assert upstream["export_feed"] == ["gate_marts", "resolve_as_of_date"]
    assert publish["max_active_tasks"] == 1  # one dbt node at a time: DuckDB has one writer, PG view swaps deadlock


@pytest.mark.parametrize("dag_id", ["hs_ingest_marketplace", "hs_ingest_gig"])
def test_ingestion_is_interval_based_and_bounded(dagbag, dag_id):
    ingest = dagbag["dags"][dag_id]
    assert ingest["timetable"] == "DeltaDataIntervalTimetable"
    assert ingest["catchup"] is False  # history comes in by backfill, on purpose
    assert set(ingest["tasks"]) == {"extract", "load"}
    assert dagbag["dags"]["hs_publish_warehouse"]["max_active_runs"] == 1  # DuckDB has one writer


def test_recruiter_drops_are_event_driven(dagbag):
    drops = dagbag["dags"]["hs_ingest_recruiter_drops"]
    assert drops["timetable"] == "AssetOrTimeSchedule"  # notifications, plus a daily sweep for lost ones
    assert drops["schedule_assets"] == ["landing_recruiter_drops"]
    assert drops["tasks"]["ingest"]["outlets"] == ["raw_events__recruiter"]
    assert drops["max_active_runs"] == 1 and drops["catchup"] is False


def test_queued_snapshot_events_resolve_to_every_snapshot_and_the_latest():
    """Snapshots committed while a publication runs queue up and trigger the next run together: it must load every
    one (the history mart would miss the skipped days otherwise) and gate/export the latest."""
    from types import SimpleNamespace

    sys.path.insert(0, str(DAGS))
    from hs_common import extras, latest_extra

    event = lambda extra: SimpleNamespace(extra=extra)  # noqa: E731
    triggering = {"curated_candidate_signals": [event({"as_of_date": "2026-05-14"}), event({"as_of_date": "2026-05-07"}),
                                                event({"as_of_date": "2026-05-14"}), event(None), event({})]}
    assert extras(triggering, "as_of_date") == ["2026-05-07", "2026-05-14"]
    assert latest_extra(triggering, "as_of_date") == "2026-05-14"
    assert extras({}, "as_of_date") == [] and latest_extra({}, "as_of_date") is None
