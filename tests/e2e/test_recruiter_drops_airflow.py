"""Event-driven recruiter drops through a real Airflow 3 deployment (API server, scheduler, DAG processor,
triggerer): files land in moto_server's S3, S3 notifies SQS, the AssetWatcher's trigger turns the messages
into Asset events, the DAG ingests the files, and the messages leave the queue only after Airflow has the
events."""

import shutil
import time
import uuid
from datetime import date

import pytest

from hiring_signals import drops
from hiring_signals.airflow_local import LocalAirflow
from hiring_signals.config import REPO_ROOT, load_settings
from hiring_signals.embedded import free_port
from hiring_signals.simulators.marketplace import generate as generate_marketplace
from hiring_signals.simulators.recruiter_drops import DropFaults, generate, upload
from hiring_signals.storage import Lake
from hiring_signals.storage.notifications import ensure_drop_notifications, queue_url, sqs_client

pytestmark = pytest.mark.e2e
DAG_ID = "hs_ingest_recruiter_drops"


def queue_depth(sqs, url) -> int:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                                                   "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def wait_for(condition, timeout_s: float, what: str, interval: float = 1.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"{what} not reached after {timeout_s:.0f}s")


def test_landed_drops_trigger_the_dag_through_the_sqs_watcher(hs_env, tmp_path):
    env = {**hs_env, "HS_RECRUITER_QUEUE": f"drops-{uuid.uuid4().hex[:10]}"}
    settings = load_settings({**env, "AIRFLOW_HOME": str(tmp_path / "airflow")})
    lake = Lake(settings.s3)
    lake.ensure_buckets()
    ensure_drop_notifications(settings)  # leaves an s3:TestEvent on the queue
    sqs = sqs_client(settings.s3)
    url = queue_url(sqs, settings.recruiter_queue)
    assert queue_depth(sqs, url) == 1

    dags = tmp_path / "dags"  # only this DAG (and its shared module): nothing else to schedule
    dags.mkdir()
    for name in ("hs_common.py", f"{DAG_ID}.py"):
        shutil.copy(REPO_ROOT / "dags" / name, dags / name)
    airflow = LocalAirflow(settings, {**env, "AIRFLOW_HOME": str(tmp_path / "airflow")}, free_port(),
                           tmp_path / "logs", dags_folder=dags)
    population = generate_marketplace(3, date(2026, 5, 1), date(2026, 5, 20), 60, 6)
    drop_set = generate(population.candidates, seed=3, start=date(2026, 5, 1), end=date(2026, 5, 20), share=0.3,
                        faults=DropFaults(duplicate_files=1, truncated_files=1))
    airflow.init_db()
    airflow.start()
    try:
        airflow.wait_for_dags([DAG_ID])
        assert airflow.import_errors() == []
        # the watcher is live once the triggerer has taken (and, being no event, deleted) the test message
        wait_for(lambda: queue_depth(sqs, url) == 0, 120, "the SQS watcher consuming the s3:TestEvent")

        # the daily sweep's first run (catchup off: the latest 03:00 tick) has nothing to do yet; let it finish
        # (all() of no runs is True: wait for the run to exist, or on a busy machine it can start after the upload
        # and sweep the files before the watcher's events do)
        wait_for(lambda: (runs := airflow.dag_runs(DAG_ID)) and all(r["state"] in {"success", "failed"} for r in runs),
                 90, "the start-up run settled")
        upload(lake, drop_set.files)

        def settled():
            runs = airflow.dag_runs(DAG_ID)
            return (any(r["run_type"] == "asset_triggered" for r in runs)
                    and all(r["state"] in {"success", "failed"} for r in runs) and not drops.pending_keys(lake) and runs)

        runs = wait_for(settled, 150, "every landed drop ingested after asset-triggered runs", interval=3)
        assert airflow.failed_tasks([DAG_ID]) == []
        assert all(r["state"] == "success" for r in runs)
        plans = {r["run_type"]: [] for r in runs}
        for r in runs:
            plans[r["run_type"]].append(airflow.get(f"/dags/{DAG_ID}/dagRuns/{r['dag_run_id']}/taskInstances/"
                                                    "resolve_keys/xcomEntries/return_value")["value"])
        # event-driven: runs created by the watcher's Asset events, naming landed files, took every file
        assert plans["asset_triggered"] and all(p["mode"] == "events" and p["named"] >= 1
                                                for p in plans["asset_triggered"])
        assert {k for p in plans["asset_triggered"] for k in p["keys"]} == {f.key for f in drop_set.files}

        ledger = drops.reconcile(lake)
        assert ledger["files"] == len(drop_set.files)
        assert ledger["received"] == sum(f.rows for f in drop_set.files)
        assert ledger["quarantined"] == 1 and ledger["quarantine_reasons"] == {"truncated_row": 1}
        assert ledger["received"] == ledger["accepted"] + ledger["duplicates"] + ledger["quarantined"]
        # every notification was acknowledged (deleted) once Airflow had persisted its event
        wait_for(lambda: queue_depth(sqs, url) == 0, 30, "the queue drained")
    finally:
        airflow.stop()
