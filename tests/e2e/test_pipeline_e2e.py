"""The whole chain through a real Airflow scheduler (metadata on PostgreSQL): simulator over HTTP -> moto S3 ->
Spark -> dbt on DuckDB -> feed; the downstream DAGs start on Asset events, as in production.

Checks concrete published values for the scripted personas, reconciliation and that reprocessing an interval
rewrites identical raw and quarantine zones. The cosmos-rendered dbt tasks on PostgreSQL are
tests/integration/test_publish_dag_cosmos.py's; every model on both targets, test_warehouse_*.
"""

from __future__ import annotations

import gzip
import time
import uuid
from datetime import date, timedelta

import orjson
import psycopg2
import pytest

from hiring_signals.airflow_local import LocalAirflow
from hiring_signals.config import load_settings
from hiring_signals.contract.curated_schema import SIGNALS
from hiring_signals.demo import API_SOURCES, DAG_IDS, INGEST_DAGS, wait_for_chain
from hiring_signals.embedded import free_port
from hiring_signals.identity import Pseudonymiser
from hiring_signals.simulators.marketplace import FaultConfig, MarketplaceSimulator, generate, persona_expected_signals
from hiring_signals.simulators.marketplace.personas import PERSONAS
from hiring_signals.simulators import gig
from hiring_signals import drops
from hiring_signals.simulators.recruiter_drops import DropFaults, generate as generate_drops, upload as upload_drops
from hiring_signals.storage.notifications import ensure_drop_notifications, queue_url, sqs_client
from hiring_signals.storage import Lake, read_manifests
from hiring_signals.storage import layout
from hiring_signals.warehouse.loader import query, query_dicts

# The chain fixture alone is ingestion + two Spark runs + two publications of 28 dbt tasks: 8-15 minutes on two
# shared cores (measured 882 s at load 5-8). Its own deadline (wait_for_chain, 1500 s) reports which stage is
# behind; the per-test timeout sits above it so that message, not pytest-timeout's traceback, is what a slow run shows.
pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.spark, pytest.mark.timeout(1800)]

START = date(2026, 5, 1)
DAYS = 35
INTERVAL_DAYS = 7  # weekly runs, one batch per day (tests/integration/test_ingest.py shows it equals nightly runs)
RUNS = DAYS // INTERVAL_DAYS
LAST_DAY = START + timedelta(days=DAYS - 1)


def lake_snapshot(lake: Lake, zone: str) -> dict[str, bytes]:
    bucket = lake.bucket_for(zone)
    return {k: lake.get(lake.ref(zone, k)) for k in lake.list_keys(bucket, f"{zone}/")}


@pytest.fixture(scope="module")
def chain(moto_endpoint, tmp_path_factory, request):
    home = tmp_path_factory.mktemp("e2e")
    suffix = uuid.uuid4().hex[:8]
    population = generate(seed=23, start=START, end=START + timedelta(days=DAYS), candidates=90, employers=10)
    simulator = MarketplaceSimulator(population, faults=FaultConfig(seed=1, malformed_rate=0.01, rate_429=0.05,
                                                                      retry_after_s=1))
    simulator.start()
    gig_population = gig.generate(seed=23, start=START, end=START + timedelta(days=DAYS), candidates=90, employers=10)
    gig_simulator = gig.GigSimulator(gig_population, faults=gig.FaultConfig(seed=2, malformed_rate=0.01))
    gig_simulator.start()
    env = {
        "HS_HOME": str(home), "HS_S3_ENDPOINT_URL": moto_endpoint, "HS_LAKE_BUCKET": f"e2e-lake-{suffix}",
        "HS_FEEDS_BUCKET": f"e2e-feeds-{suffix}", "HS_PSEUDONYM_KEY": "e2e-key-" + "7" * 40,
        "HS_MARKETPLACE_URL": simulator.url, "HS_GIG_URL": gig_simulator.url, "HS_SOURCES": ",".join(API_SOURCES),
        "HS_INGEST_START_DATE": START.isoformat(),
        "HS_INGEST_END_DATE": (START + timedelta(days=DAYS)).isoformat(), "HS_SPARK_MASTER": "local[2]",
        "HS_DUCKDB_PATH": str(home / "warehouse.duckdb"), "HS_WAREHOUSE_SCHEMA": f"e2e_{suffix}",
        "HS_RECRUITER_QUEUE": f"e2e-drops-{suffix}", "HS_HTTP_MAX_ATTEMPTS": "6", "HS_PAGE_LIMIT": "100", "HS_INGEST_INTERVAL_DAYS": str(INTERVAL_DAYS),
    }
    # Airflow's metadata on PostgreSQL, as in production: SQLite's single writer makes the scheduler, the API
    # (backfill creation) and the triggerer race (StaleDataError, "database is locked") on a busy machine.
    metadata_db = f"e2e_airflow_{suffix}"
    admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    admin.autocommit = True  # CREATE DATABASE cannot run in a transaction
    admin.cursor().execute(f'create database "{metadata_db}"')
    admin.close()
    env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{metadata_db}"
    settings = load_settings(env)
    lake = Lake(settings.s3)
    lake.ensure_buckets()
    ensure_drop_notifications(settings)
    drop_set = generate_drops(population.candidates, seed=23, start=START, end=START + timedelta(days=DAYS), share=0.3,
                              faults=DropFaults(duplicate_files=1, truncated_files=1, late_files=1))
    airflow = LocalAirflow(settings, env, free_port(), home / "logs")
    airflow.init_db()
    airflow.start()
    try:
        airflow.wait_for_dags(DAG_IDS)
        last_run = START + timedelta(days=DAYS - INTERVAL_DAYS)
        upload_drops(lake, drop_set.files)  # S3 -> SQS -> AssetWatcher -> hs_ingest_recruiter_drops
        for dag_id in INGEST_DAGS:
            airflow.backfill(dag_id, f"{START}T00:00:00Z", f"{last_run}T00:00:00Z", max_active_runs=2)
        wait_for_chain(airflow, settings, RUNS, LAST_DAY, timeout_s=1500)
        yield {"settings": settings, "airflow": airflow, "env": env, "population": population, "simulator": simulator,
               "gig_population": gig_population, "gig_simulator": gig_simulator, "drop_set": drop_set}
    finally:
        airflow.stop()
        simulator.stop()
        gig_simulator.stop()
        admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
        admin.autocommit = True
        admin.cursor().execute(f'drop database if exists "{metadata_db}" with (force)')
        admin.close()


def queue_depth(sqs, url) -> int:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                                                   "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def test_every_dag_ran_green_and_downstream_was_asset_triggered(chain):
    airflow = chain["airflow"]
    landed = {f.key for f in chain["drop_set"].files}
    assert airflow.failed_tasks(DAG_IDS) == []
    for dag_id in INGEST_DAGS:
        assert sum(r["state"] == "success" for r in airflow.dag_runs(dag_id)) == RUNS, dag_id
    for dag_id in ("hs_build_signals", "hs_publish_warehouse"):
        runs = airflow.dag_runs(dag_id)
        assert runs and all(r["run_type"] == "asset_triggered" for r in runs), runs
    # recruiter drops arrive by S3 notification -> SQS -> AssetWatcher, not by schedule: runs created by the
    # watcher's Asset events, each naming landed files ...
    drop_runs = [r for r in airflow.dag_runs("hs_ingest_recruiter_drops") if r["run_type"] == "asset_triggered"]
    assert drop_runs
    for run in drop_runs:
        plan = airflow.get(f"/dags/hs_ingest_recruiter_drops/dagRuns/{run['dag_run_id']}/taskInstances/resolve_keys/"
                           "xcomEntries/return_value")["value"]
        assert plan["mode"] == "events" and plan["named"] >= 1 and set(plan["keys"]) <= landed, plan
    # ... and every notification was acknowledged (deleted from the queue) once Airflow had persisted its event
    sqs = sqs_client(chain["settings"].s3)
    url = queue_url(sqs, chain["settings"].recruiter_queue)
    deadline = time.monotonic() + 60
    while queue_depth(sqs, url) and time.monotonic() < deadline:
        time.sleep(2)
    assert queue_depth(sqs, url) == 0


def test_counts_reconcile_across_every_batch(chain):
    settings = chain["settings"]
    lake = Lake(settings.s3)
    manifests = read_manifests(lake, "raw", layout.raw_manifests_prefix("marketplace"))
    assert len(manifests) == DAYS
    served = len(chain["population"].records)
    received = sum(m["counts"]["received"] for m in manifests)
    assert received == served  # every record the source served, exactly once
    for m in manifests:
        c = m["counts"]
        assert c["received"] == c["accepted"] + c["duplicates"] + c["quarantined"]
        assert m["validation"]["success"]
    quarantined = sum(m["counts"]["quarantined"] for m in manifests)
    stats = chain["simulator"].stats()
    assert quarantined == stats["malformed"]["total"] > 0

    gig_manifests = read_manifests(lake, "raw", layout.raw_manifests_prefix("gig"))
    assert len(gig_manifests) == DAYS
    gig_counts = {k: sum(m["counts"][k] for m in gig_manifests) for k in ("received", "accepted", "duplicates", "quarantined")}
    assert gig_counts["received"] == len(chain["gig_population"].records)
    assert gig_counts["received"] == gig_counts["accepted"] + gig_counts["duplicates"] + gig_counts["quarantined"]
    assert gig_counts["quarantined"] == chain["gig_simulator"].stats()["malformed"]["total"] > 0

    ledger = drops.reconcile(lake)  # every dropped file, ingested through the SQS watcher
    drop_set = chain["drop_set"]
    assert ledger["files"] == len(drop_set.files) and ledger["pending"] == 0
    assert ledger["received"] == sum(f.rows for f in drop_set.files)
    assert ledger["received"] == ledger["accepted"] + ledger["duplicates"] + ledger["quarantined"]
    assert ledger["quarantine_reasons"] == {"truncated_row": 1}
    # ... and read by the signal job: every accepted placement event, once
    curated = lake.get_json(layout.curated_manifest_ref(lake, "candidate_signals", LAST_DAY))
    assert curated["inputs"]["sources"]["recruiter"]["batches"] == ledger["files"]
    assert curated["inputs"]["events"]["recruiter"]["distinct_events"] == ledger["accepted"] > 0
    assert curated["inputs"]["events"]["gig"]["distinct_events"] > 0


def test_published_signals_for_known_candidates(chain):
    settings = chain["settings"]
    pseudonymiser = Pseudonymiser(settings.pseudonym_key())
    expected = persona_expected_signals(START)
    columns = ", ".join(c for s in SIGNALS for c in (s.name, f"{s.name}_evidence"))
    rows = {r["candidate_ref"]: r for r in query_dicts(
        settings.warehouse, f"select candidate_ref, as_of_date, {columns} from {settings.warehouse.schema}.candidate_signal_feed")}
    for email in PERSONAS:
        row = rows[pseudonymiser.candidate_ref(email)]
        assert str(row["as_of_date"]) == LAST_DAY.isoformat()
        for signal, value in expected[email].items():
            if value is None:
                assert row[signal] is None, (email, signal)
            else:
                assert row[signal] == pytest.approx(value), (email, signal, row[signal])
    # Ada: 3 engagements, 6 deliverables, 3 feedbacks, 2 credentials as evidence
    ada = rows[pseudonymiser.candidate_ref("ada.reliable@persona.example")]
    assert (ada["engagements_started_evidence"], ada["on_time_delivery_rate_evidence"],
            ada["mean_rubric_score_evidence"], ada["active_verified_credentials_evidence"]) == (3, 6, 3, 2)


def test_feed_file_matches_the_mart(chain):
    settings = chain["settings"]
    lake = Lake(settings.s3)
    latest = lake.get_json(layout.feed_latest_ref(lake))
    assert latest["as_of_date"] == LAST_DAY.isoformat()
    manifest = lake.get_json(lake.ref("feeds", latest["manifest"]))
    lines = [orjson.loads(l) for f in manifest["files"] for l in gzip.decompress(lake.get(lake.ref("feeds", f["key"]))).splitlines()]
    (count,) = query(settings.warehouse, f"select count(*) from {settings.warehouse.schema}.candidate_signal_feed")[0]
    assert manifest["records"] == len(lines) == count > 50
    assert {l["feed_version"] for l in lines} == {"v1"} and all(set(l["signals"]) == {s.name for s in SIGNALS} for l in lines)
    assert b"@" not in b"".join(gzip.decompress(lake.get(lake.ref("feeds", f["key"]))) for f in manifest["files"])


def test_reprocessing_an_interval_rewrites_identical_raw_and_quarantine(chain):
    """Re-ingest one run's interval through Airflow (a reprocessing backfill: the same run id, a new end date):
    the raw and quarantine zones keep every object byte for byte.

    The Asset-triggered DAGs are paused first: what they would redo is proven where it is cheaper -- a rerun of
    a date writes identical curated bytes (tests/integration/test_spark_job.py), an incremental night equals a
    rebuild (test_incremental_signals.py) and reloading the same data leaves every mart identical
    (test_warehouse_dbt.py, test_warehouse_raw_dbt.py) -- and a second Spark run plus 28 dbt tasks here cost
    about three minutes of the suite."""
    settings, airflow = chain["settings"], chain["airflow"]
    lake = Lake(settings.s3)
    downstream = ("hs_build_signals", "hs_publish_warehouse")
    for dag_id in downstream:
        airflow.set_paused(dag_id)
    before = {z: lake_snapshot(lake, z) for z in ("raw", "quarantine", "curated")}
    rerun_day = START + timedelta(days=2 * INTERVAL_DAYS)  # the third weekly run
    runs_before = {d: airflow.dag_runs(d) for d in DAG_IDS}
    airflow.backfill("hs_ingest_marketplace", f"{rerun_day}T00:00:00Z", f"{rerun_day}T00:00:00Z", max_active_runs=1)
    wait_for_rerun(airflow, runs_before, rerun_day)
    assert {z: lake_snapshot(lake, z) for z in ("raw", "quarantine", "curated")} == before
    assert {d: len(airflow.dag_runs(d)) for d in downstream} == {d: len(runs_before[d]) for d in downstream}


def wait_for_rerun(airflow, runs_before, rerun_day, timeout_s=600):
    """A reprocessing backfill re-runs the existing ingestion run (same run id, new end date)."""

    def ended(runs, day):
        return [r["end_date"] for r in runs if r["logical_date"].startswith(day.isoformat())]

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        runs = airflow.dag_runs("hs_ingest_marketplace")
        rerun = [r for r in runs if r["logical_date"].startswith(rerun_day.isoformat())]
        if ended(runs, rerun_day) != ended(runs_before["hs_ingest_marketplace"], rerun_day) \
                and all(r["state"] in {"success", "failed"} for r in rerun):
            assert airflow.failed_tasks(["hs_ingest_marketplace"]) == []
            assert [r["state"] for r in rerun] == ["success"]
            return
        time.sleep(3)
    raise TimeoutError(f"the reprocessing run of {rerun_day} did not end")
