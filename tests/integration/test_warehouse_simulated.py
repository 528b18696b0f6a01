"""The warehouse on simulated sources: SQL and Spark agree on realistic data, on DuckDB and PostgreSQL.

The lake is the session's simulated lake (tests/simulated_lake.py, shared with test_spark_job.py): the
marketplace and gig simulators serve their days over HTTP and the real ingestion commits 31 daily raw batches per
source to the lake (moto S3); the signal job (spark-submit) commits the curated snapshot as of AS_OF, which reads
30 of them per source. `pipeline.load_curated` loads the snapshot and exactly its raw batches, and `dbt build`
must pass every test - the cross-checks in dbt_project/tests/cross_checks/ compare the SQL marts with Spark's
curated numbers row by row. Spot checks recompute a few mart figures from the raw rows in Python.
"""

from __future__ import annotations

import io
import json
from collections import defaultdict

import pyarrow.parquet as pq
import pytest

from hiring_signals.pipeline import as_of_end, load_curated
from hiring_signals.storage import Lake, layout
from hiring_signals.warehouse import query, run_dbt
from tests.simulated_lake import AS_OF, INGESTED_DAYS, SOURCES, day
from tests.warehouse_targets import WAREHOUSE_TARGETS, open_warehouse

pytestmark = pytest.mark.spark

SNAPSHOT_BATCHES = 2 * (INGESTED_DAYS - 1)  # the batch ingested after the as-of end is not read


@pytest.fixture(scope="module")
def lake(simulated_lake, simulated_snapshot) -> Lake:
    """Raw batches of both sources and the curated snapshot as of AS_OF, committed by the real steps."""
    assert simulated_snapshot["validation"]["success"] is True
    assert len(simulated_snapshot["inputs"]["batches"]) == SNAPSHOT_BATCHES
    return simulated_lake.lake


@pytest.fixture(scope="module")
def env(simulated_lake) -> dict[str, str]:
    return simulated_lake.env


def known_raw_rows(lake: Lake) -> list[dict]:
    """The raw rows the snapshot knows, de-duplicated in Python (first ingested delivery per source x event)."""
    manifest = lake.get_json(layout.curated_manifest_ref(lake, "candidate_signals", AS_OF))
    wanted, end, rows = set(manifest["inputs"]["batches"]), as_of_end(AS_OF), {}
    for source in SOURCES:
        for n in range(INGESTED_DAYS):
            raw = lake.get_json(layout.raw_manifest_ref(lake, source, day(n)))
            if raw["batch_id"] not in wanted:
                continue
            for f in raw["files"]:
                if f["zone"] != "raw":
                    continue
                for row in pq.read_table(io.BytesIO(lake.get(lake.ref("raw", f["key"])))).to_pylist():
                    if row["occurred_at"] < end and row["ingested_at"] <= end:
                        key = (row["source"], row["event_id"])
                        if key not in rows or (row["ingested_at"], row["batch_id"]) < (
                                rows[key]["ingested_at"], rows[key]["batch_id"]):
                            rows[key] = row
    return list(rows.values())


@pytest.mark.parametrize("target", WAREHOUSE_TARGETS)
def test_simulated_sources_build_and_sql_agrees_with_spark(lake, env, target, tmp_path):
    with open_warehouse(target, tmp_path, "hs_sim", base_env=env) as settings:
        ws = settings.warehouse
        loaded = load_curated(settings, AS_OF)
        assert loaded["raw_batches"]["batches"] == SNAPSHOT_BATCHES and loaded["raw_batches"]["skipped"] == 0
        result = run_dbt(["build"], ws, log_dir=tmp_path / "dbt")
        statuses = {n.name: n.status for n in result.nodes}
        for check in ("engagement_lifecycle_agrees_with_curated_engagements",
                      "deliverable_counts_agree_with_curated_engagements", "feedback_agrees_with_curated_engagements",
                      "active_credentials_agree_with_signal", "candidate_identity_agrees_with_curated_candidates",
                      "snapshot_raw_batches_are_loaded"):
            assert statuses[check] == "pass", check

        rows = known_raw_rows(lake)
        sch = f'"{ws.schema}"'
        # the funnel's postings and offers, recounted from the raw rows
        posted, offered = defaultdict(set), defaultdict(set)
        for r in rows:
            if r["event_type"] == "engagement.posted" and r["engagement_ref"]:
                posted[r["source"]].add(r["engagement_ref"])
            if r["event_type"] == "offer.extended" and r["engagement_ref"] and r["candidate_ref"]:
                offered[r["source"]].add((r["engagement_ref"], r["candidate_ref"]))
        funnel = {s: (p, o) for s, p, o in query(ws, f"SELECT source, engagements_posted, offered FROM {sch}.mart_source_funnel")}
        assert funnel["marketplace"] == (len(posted["marketplace"]), len(offered["marketplace"]))
        assert funnel["marketplace"][0] > 0 and funnel["gig"][0] == 0
        # every feedback event is one fct_feedback row; every credential id one fct_credentials row
        feedback = [r for r in rows if r["event_type"] == "feedback.recorded" and r["engagement_ref"] and r["candidate_ref"]]
        assert query(ws, f"SELECT count(*) FROM {sch}.fct_feedback") == [(len(feedback),)] and feedback
        credentials = {(r["candidate_ref"], json.loads(r["payload"])["credential_id"])
                       for r in rows if r["event_type"] == "credential.issued"}
        assert query(ws, f"SELECT count(*) FROM {sch}.fct_credentials") == [(len(credentials),)]
        employers = {r["employer_ref"] for r in rows if r["employer_ref"]}
        assert query(ws, f"SELECT count(*) FROM {sch}.dim_employers") == [(len(employers),)]
        # rerun of the whole publish: nothing new is read, every event-level mart is unchanged
        before = {m: query(ws, f"SELECT * FROM {sch}.{m} ORDER BY 1, 2, 3")
                  for m in ("fct_deliverables", "fct_feedback", "fct_credentials", "dim_employers", "mart_source_funnel")}
        assert load_curated(settings, AS_OF)["raw_batches"]["skipped"] == SNAPSHOT_BATCHES
        run_dbt(["build"], ws, log_dir=tmp_path / "dbt")
        assert {m: query(ws, f"SELECT * FROM {sch}.{m} ORDER BY 1, 2, 3") for m in before} == before
