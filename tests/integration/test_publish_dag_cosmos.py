"""dbt through Airflow for real, on PostgreSQL: the project rendered by cosmos (one build task per node, then the
tests spanning models) runs under `airflow dags test` from the raw + curated story of test_warehouse_raw_dbt, then
the GX marts gate, and every model/seed emits its Asset.

The DAG here is the publish DAG's middle (load -> `build_dbt_task_group` -> `pipeline.gate_marts`), loading the
story's tables from Parquet instead of a lake snapshot, so it needs no Spark job run or ingestion first. The
end-to-end test publishes through hs_publish_warehouse itself, on DuckDB (the embedded target), with the scheduler;
this test is the cosmos profile and every node on the other target. (Every model, seed and test runs on both
targets in the test_warehouse_* modules too, with plain `dbt build`.)
"""

from __future__ import annotations

import sqlite3
import textwrap
import time

import pyarrow.parquet as pq
import pytest

from hiring_signals.airflow_local import LocalAirflow
from hiring_signals.config import load_settings
from hiring_signals.embedded import free_port
from hiring_signals.storage import layout
from hiring_signals.warehouse import query, run_dbt
from hiring_signals.warehouse.cosmos_config import WAREHOUSE_ASSET_PREFIX, stage_dbt_project
from tests.warehouse_targets import open_warehouse

# The story (raw batches over three sources and Spark's curated snapshot of them) is the warehouse test's own.
from test_warehouse_raw_dbt import AS_OF, batch_tables, curated  # noqa: F401  (curated is a fixture)

pytestmark = [pytest.mark.spark, pytest.mark.postgres]

DAG_ID = "hs_publish_cosmos_test"

DAG_FILE = '''
from datetime import date, datetime, timezone
from pathlib import Path

from airflow.sdk import dag, task

from hiring_signals.warehouse.cosmos_config import build_dbt_task_group

FIXTURE = Path({fixture!r})
AS_OF = date.fromisoformat({as_of!r})


@dag(dag_id={dag_id!r}, schedule=None, start_date=datetime(2026, 1, 1, tzinfo=timezone.utc), max_active_tasks=1,
     default_args={{"retries": 0}})
def publish():
    @task
    def load():
        import pyarrow.parquet as pq

        from hiring_signals.config import load_settings
        from hiring_signals.warehouse.loader import (RawBatch, content_sha256, load_curated_snapshot,
                                                     load_raw_batches, raw_batch_sha256)

        ws = load_settings().warehouse
        for path in sorted((FIXTURE / "curated").glob("*.parquet")):
            load_curated_snapshot(ws, path.stem, AS_OF, pq.read_table(path))
        batches = []
        for path in sorted((FIXTURE / "raw").glob("*.parquet")):
            table = pq.read_table(path)
            batch_id = path.stem.replace("__SLASH__", "/")
            batches.append(RawBatch(batch_id, batch_id.split("/")[0], raw_batch_sha256([content_sha256(table)]),
                                    lambda table=table: table))
        load_raw_batches(ws, AS_OF, batches)

    @task
    def gate():
        from hiring_signals import pipeline
        from hiring_signals.config import load_settings

        return pipeline.gate_marts(load_settings(), AS_OF)

    load() >> build_dbt_task_group() >> gate()


publish()
'''


def test_dbt_runs_per_node_under_airflow_then_the_gate(curated, hs_env, lake, tmp_path):
    fixture = tmp_path / "fixture"
    (fixture / "curated").mkdir(parents=True)
    (fixture / "raw").mkdir()
    for name, table in curated.items():
        pq.write_table(table, fixture / "curated" / f"{name}.parquet")
    for batch_id, table in batch_tables().items():
        pq.write_table(table, fixture / "raw" / f"{batch_id.replace('/', '__SLASH__')}.parquet")
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / f"{DAG_ID}.py").write_text(textwrap.dedent(DAG_FILE.format(
        fixture=str(fixture), as_of=AS_OF.isoformat(), dag_id=DAG_ID)))

    with open_warehouse("postgres", tmp_path, "hs_cosmos", base_env=hs_env) as settings:
        env = {**hs_env, "HS_WAREHOUSE_TARGET": "postgres", "HS_WAREHOUSE_SCHEMA": settings.warehouse.schema}
        assert load_settings(env).warehouse == settings.warehouse
        run_on_airflow(settings, env, lake, tmp_path, dags)


def run_on_airflow(settings, env, lake, tmp_path, dags):
    staged = stage_dbt_project(settings)  # the set-up step (`hs dbt-parse`); the DAG file would do it otherwise
    airflow = LocalAirflow(settings, env, free_port(), tmp_path / "airflow-logs", dags_folder=dags)
    airflow.init_db()
    started = time.monotonic()
    done = airflow.cli("dags", "test", DAG_ID, check=False, timeout=1500)
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]

    with sqlite3.connect(settings.airflow_home / "airflow.db") as db:
        states = dict(db.execute("SELECT task_id, state FROM task_instance WHERE dag_id = ?", (DAG_ID,)).fetchall())
        emitted = sorted(uri for (uri,) in db.execute(
            "SELECT a.uri FROM asset_event e JOIN asset a ON a.id = e.asset_id WHERE e.source_dag_id = ?", (DAG_ID,)))
    dbt_tasks = sorted(t for t in states if t.startswith("dbt."))
    print(f"\n{len(dbt_tasks)} dbt tasks under `airflow dags test` in {elapsed:.0f}s "
          f"({elapsed / max(len(dbt_tasks), 1):.1f}s per task)")
    assert {s for s in states.values()} == {"success"}, {t: s for t, s in states.items() if s != "success"}
    import json

    manifest = json.loads(staged.manifest_path.read_text())
    built = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] in {"model", "seed"}}
    assert {t[len("dbt."):].rsplit("_", 2)[0] for t in dbt_tasks if t.endswith(("_model_build", "_seed_build"))} == built
    assert "dbt.cross_model_tests" in dbt_tasks  # relationships and cross-checks against Spark, after every model
    assert emitted == sorted(WAREHOUSE_ASSET_PREFIX + n for n in built)

    gate = lake.get_json(layout.validation_result_ref(lake, "marts", f"postgres/{AS_OF.isoformat()}"))
    assert gate["success"] is True and gate["previous"] is None
    assert gate["row_counts"]["dim_candidates"] > 0 and gate["row_counts"]["fct_engagements"] > 0

    # the same project as one `dbt build` over the same landed data leaves every mart row-for-row as cosmos did
    per_node = all_marts(settings.warehouse)
    assert set(per_node) >= set(gate["row_counts"])
    started = time.monotonic()
    result = run_dbt(["build"], settings.warehouse, log_dir=tmp_path / "dbt-build")
    print(f"one `dbt build` of the same project: {time.monotonic() - started:.0f}s; {result.summary()}")
    assert all_marts(settings.warehouse) == per_node


def all_marts(ws) -> dict[str, list[tuple]]:
    names = [r[0] for r in query(ws, f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{ws.schema}'")]
    return {n: sorted(query(ws, f'SELECT * FROM "{ws.schema}"."{n}"'), key=repr) for n in sorted(names)}
