"""The warehouse on simulated sources: SQL and Spark agree on realistic data, on DuckDB and PostgreSQL.

The marketplace and gig simulators serve 20 days over HTTP, the real ingestion commits raw batches to the lake
(moto S3), the signal job (in-process, local Spark) commits the curated snapshot, `pipeline.load_curated` loads
the snapshot and exactly its raw batches, and `dbt build` must pass every test - the cross-checks in
dbt_project/tests/cross_checks/ compare the SQL marts with Spark's curated numbers row by row. Spot checks
recompute a few mart figures from the raw rows in Python.
"""

from __future__ import annotations

import io
import json
import uuid
from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone

import pyarrow.parquet as pq
import pytest

from hiring_signals.config import load_settings
from hiring_signals.identity import Pseudonymiser
from hiring_signals.ingest import extract_to_landing, load_to_raw
from hiring_signals.pipeline import as_of_end, load_curated
from hiring_signals.simulators import gig
from hiring_signals.simulators.marketplace import MarketplaceSimulator, generate
from hiring_signals.sources.gig import GigConnector, to_envelope as gig_to_envelope
from hiring_signals.sources.http import SourceHttpClient
from hiring_signals.sources.marketplace import MarketplaceConnector, to_envelope
from hiring_signals.storage import Interval, Lake, layout
from hiring_signals.warehouse import ensure_postgres_database, query, run_dbt

pytestmark = pytest.mark.spark

START = date(2026, 5, 1)
DAYS = 20
AS_OF = START + timedelta(days=DAYS - 1)


def day(n: int) -> Interval:
    begin = datetime.combine(START + timedelta(days=n), time(), tzinfo=timezone.utc)
    return Interval(begin, begin + timedelta(days=1))


@pytest.fixture(scope="module")
def env(moto_endpoint, tmp_path_factory) -> dict[str, str]:
    suffix = uuid.uuid4().hex[:10]
    home = tmp_path_factory.mktemp("wh-sim")
    return {
        "HS_HOME": str(home), "HS_S3_ENDPOINT_URL": moto_endpoint, "HS_LAKE_BUCKET": f"lake-{suffix}",
        "HS_FEEDS_BUCKET": f"feeds-{suffix}", "HS_PSEUDONYM_KEY": "wh-sim-key-" + "7" * 40,
        "HS_SPARK_MASTER": "local[1]", "HS_SOURCES": "marketplace,gig",
    }


@pytest.fixture(scope="module")
def lake(env) -> Lake:
    """Raw batches of both sources and the curated snapshot as of AS_OF, committed by the real steps."""
    from spark_jobs.candidate_signals.job import run
    from spark_jobs.session import TINY_DATA_CONF, build_session

    settings = load_settings(env)
    size = {"seed": 11, "start": START, "end": START + timedelta(days=DAYS + 2), "candidates": 40, "employers": 6}
    lake = Lake(settings.s3)
    lake.ensure_buckets()
    pseudonymiser = Pseudonymiser(settings.pseudonym_key())
    with MarketplaceSimulator(generate(**size)) as marketplace, gig.GigSimulator(gig.generate(**size)) as platform:
        for source, connector_class, url, mapping in [
                ("marketplace", MarketplaceConnector, marketplace.url, to_envelope),
                ("gig", GigConnector, platform.url, gig_to_envelope)]:
            client = SourceHttpClient(url, max_attempts=6, backoff_initial_s=0.01, sleep=lambda s: None)
            connector = connector_class(client, page_limit=500)
            for n in range(DAYS):
                extract_to_landing(lake, connector, day(n))
                load_to_raw(lake, source, day(n), pseudonymiser, mapping)
    spark = build_session("hs-tests", "local[1]", shuffle_partitions=1, extra_conf=TINY_DATA_CONF)
    assert run(spark, settings, AS_OF) == 0
    return lake


def known_raw_rows(lake: Lake) -> list[dict]:
    """The raw rows the snapshot knows, de-duplicated in Python (first ingested delivery per source x event)."""
    manifest = lake.get_json(layout.curated_manifest_ref(lake, "candidate_signals", AS_OF))
    wanted, end, rows = set(manifest["inputs"]["batches"]), as_of_end(AS_OF), {}
    for source in ("marketplace", "gig"):
        for n in range(DAYS):
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


@pytest.mark.parametrize("target", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_simulated_sources_build_and_sql_agrees_with_spark(lake, env, target, tmp_path):
    settings = load_settings({**env, "HS_WAREHOUSE_TARGET": target, "HS_DUCKDB_PATH": str(tmp_path / "w.duckdb"),
                              "HS_WAREHOUSE_SCHEMA": f"hs_sim_{uuid.uuid4().hex[:10]}"})
    ws = settings.warehouse
    if target == "postgres":
        ensure_postgres_database(ws)
    try:
        loaded = load_curated(settings, AS_OF)
        assert loaded["raw_batches"]["batches"] == 2 * DAYS and loaded["raw_batches"]["skipped"] == 0
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
        assert load_curated(settings, AS_OF)["raw_batches"]["skipped"] == 2 * DAYS
        run_dbt(["build"], ws, log_dir=tmp_path / "dbt")
        assert {m: query(ws, f"SELECT * FROM {sch}.{m} ORDER BY 1, 2, 3") for m in before} == before
    finally:
        if target == "postgres":
            import psycopg2

            conn = psycopg2.connect(host=ws.pg_host, port=ws.pg_port, user=ws.pg_user,
                                    password=ws.pg_password or None, dbname=ws.pg_database)
            conn.autocommit = True
            with conn.cursor() as cur:
                for suffix in ("", "_landing", "_staging", "_intermediate", "_seeds"):
                    cur.execute(f'DROP SCHEMA IF EXISTS "{ws.schema}{suffix}" CASCADE')
            conn.close()
