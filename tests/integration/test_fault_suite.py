"""Fault suite: ingestion over real HTTP (simulator) into the real S3 endpoint (moto_server), under the faults
sources and workers really have. Every scenario asserts counts; "no exception" alone proves nothing.

received = accepted + duplicates + quarantined holds per batch in all of them (BatchCounts.check raises
otherwise); the assertions below pin each term to what the simulator injected.
"""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest
import requests
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from hiring_signals.contract import UnknownEventVersion
from hiring_signals.ingest import extract_to_landing, load_to_raw
from hiring_signals.simulators.marketplace import FaultConfig, MarketplaceSimulator, generate
from hiring_signals.sources.http import SourceHttpClient, SourceUnavailable
from hiring_signals.sources.marketplace import MarketplaceConnector, to_envelope
from hiring_signals.storage import ConcurrentCommit, Interval, Lake, StagedFile, commit_batch
from hiring_signals.storage import layout
REPO_ROOT = Path(__file__).resolve().parents[2]

START = date(2026, 5, 1)
DAYS = 8
US = 1_000_000


@pytest.fixture(scope="module")
def population():
    # 10% of records served twice (the rate) and a quarter recorded days after they occurred.
    return generate(seed=23, start=START, end=START + timedelta(days=DAYS), candidates=600, employers=60,
                    redelivery_rate=0.10, late_rate=0.25)


def day(n: int) -> Interval:
    start = datetime.combine(START + timedelta(days=n), datetime.min.time(), tzinfo=timezone.utc)
    return Interval(start, start + timedelta(days=1))


def window(population, interval: Interval) -> tuple[int, int]:
    return population.window(int(interval.start.timestamp() * US), int(interval.end.timestamp() * US))


def served(population, interval):
    lo, hi = window(population, interval)
    return population.records[lo:hi]


def connector(url: str, *, max_attempts: int = 6, sleep=lambda s: None, limit: int = 50) -> MarketplaceConnector:
    return MarketplaceConnector(SourceHttpClient(url, max_attempts=max_attempts, backoff_initial_s=0.01, sleep=sleep),
                                page_limit=limit)


def ingest(lake, url, interval, pseudonymiser, **kwargs):
    conn = connector(url, **kwargs)
    extract_to_landing(lake, conn, interval)
    return load_to_raw(lake, "marketplace", interval, pseudonymiser, to_envelope), conn.client.stats


def raw_rows(lake, interval) -> list[dict]:
    manifest = lake.get_json(layout.raw_manifest_ref(lake, "marketplace", interval))
    return [row for f in manifest["files"] if f["zone"] == "raw"
            for row in pq.read_table(io.BytesIO(lake.get(lake.ref("raw", f["key"])))).to_pylist()]


def quarantine_records(lake, interval) -> list[dict]:
    manifest = lake.get_json(layout.raw_manifest_ref(lake, "marketplace", interval))
    return [orjson.loads(line) for f in manifest["files"] if f["zone"] == "quarantine"
            for line in gzip.decompress(lake.get(lake.ref("quarantine", f["key"]))).splitlines()]


def snapshot(lake, *zones: str) -> dict[str, bytes]:
    bucket = lake.settings.lake_bucket
    return {k: lake.get(lake.ref(k.split("/")[0], k)) for k in lake.list_keys(bucket, "") if k.split("/")[0] in zones}


def committed_keys(lake) -> set[str]:
    """Every data key some raw manifest lists."""
    bucket = lake.settings.lake_bucket
    keys = set()
    for key in lake.list_keys(bucket, "raw/_manifests/"):
        keys |= {f["key"] for f in lake.get_json(lake.ref("raw", key))["files"]}
    return keys


def orphans(lake) -> set[str]:
    bucket = lake.settings.lake_bucket
    data = {k for z in ("raw/events/", "quarantine/events/") for k in lake.list_keys(bucket, z)}
    return data - committed_keys(lake)


# --- redelivered, late and malformed events ---------------------------------------------------------------

def test_ten_percent_redeliveries_leave_no_duplicate_in_a_batch_and_are_counted(lake, population, pseudonymiser):
    totals = Counter()
    with MarketplaceSimulator(population) as sim:
        for n in range(DAYS):
            loaded, _ = ingest(lake, sim.url, day(n), pseudonymiser)
            records = served(population, day(n))
            ids = [r["id"] for r in records]
            c = loaded["counts"]
            assert c["received"] == len(records)
            assert c["duplicates"] == len(ids) - len(set(ids))  # same-day second deliveries
            assert c["accepted"] == len(set(ids)) and c["quarantined"] == 0
            rows = raw_rows(lake, day(n))
            assert len(rows) == len({r["event_id"] for r in rows}) == c["accepted"]
            totals.update(c)
            totals["raw_rows"] += len(rows)
    redelivered = sum(1 for _, _, seq in population.positions if seq > 0)
    assert redelivered >= 0.07 * population.stats()["distinct_events"]  # the fault really is ~10%
    distinct = population.stats()["distinct_events"]
    # what in-batch dedup cannot see (second delivery on a later day) is left for the signal job, which reads
    # every batch: raw rows = distinct events + cross-day redeliveries, and nothing else.
    cross_day = redelivered - totals["duplicates"]
    assert totals["raw_rows"] == distinct + cross_day
    assert totals["received"] == totals["accepted"] + totals["duplicates"] + totals["quarantined"]


@pytest.mark.spark
def test_redeliveries_across_days_are_dropped_before_any_signal(lake, settings, population, pseudonymiser, spark):
    """Downstream of raw there are zero duplicates: the Spark job's read + de-duplication, with its counts."""
    from spark_jobs.candidate_signals.job import event_reconciliation, known_events, plan_raw_inputs, read_raw_events

    with MarketplaceSimulator(population) as sim:
        for n in range(DAYS):
            ingest(lake, sim.url, day(n), pseudonymiser)
    end = day(DAYS - 1).end
    # The session's shared SparkSession (tests/conftest.py): a session of its own here would be that same one
    # (getOrCreate) and stopping it would break every later Spark test in the process.
    inputs = plan_raw_inputs(lake, ("marketplace",), end)
    known = known_events(read_raw_events(spark, settings, inputs), end)
    counts = event_reconciliation(inputs, known)["marketplace"]
    assert known.select("source", "event_id").distinct().count() == known.count()
    ids = [r.event_id for r in known.select("event_id").collect()]
    distinct = population.stats()["distinct_events"]
    assert sorted(ids) == sorted({r["id"] for r in population.records})
    assert counts["distinct_events"] == distinct
    assert counts["raw_rows"] - counts["redeliveries_dropped"] == distinct and counts["redeliveries_dropped"] > 0


def test_late_events_land_in_the_partition_of_the_day_they_arrived(lake, population, pseudonymiser):
    late_ids = population.late_event_ids
    seen_late = 0
    with MarketplaceSimulator(population) as sim:
        for n in range(DAYS):
            loaded, _ = ingest(lake, sim.url, day(n), pseudonymiser)
            rows = raw_rows(lake, day(n))
            before_interval = [r for r in rows if r["occurred_at"] < day(n).start]
            recorded_late = {r["id"] for r in served(population, day(n)) if r["id"] in late_ids}
            # every event the source recorded late is in the batch of the day it arrived, not of the day it occurred
            assert recorded_late <= {r["event_id"] for r in before_interval}
            assert loaded["late_events"] == len(before_interval)
            manifest = lake.get_json(layout.raw_manifest_ref(lake, "marketplace", day(n)))
            assert manifest["late_events"] == len(before_interval)
            if before_interval:
                assert manifest["earliest_occurred_at"] == min(r["occurred_at"] for r in before_interval).isoformat()
            # knowledge time is the day they arrived: the ingest_date partition and ingested_at say so
            assert all(f"ingest_date={day(n).ingest_date}" in f["key"] for f in manifest["files"])
            assert all(r["ingested_at"] == day(n).end for r in rows)
            seen_late += len(recorded_late)
    assert seen_late >= 20


def test_one_percent_malformed_json_is_quarantined_exactly_and_the_run_stays_green(lake, population, pseudonymiser):
    with MarketplaceSimulator(population, faults=FaultConfig(seed=3, malformed_rate=0.01)) as sim:
        results = [ingest(lake, sim.url, day(n), pseudonymiser)[0] for n in range(DAYS)]
        stats = requests.get(f"{sim.url}/_admin/stats", timeout=5).json()
    injected = stats["malformed"]["total"]
    assert injected >= 10
    assert sum(r["counts"]["quarantined"] for r in results) == injected
    quarantined = [q for n in range(DAYS) for q in quarantine_records(lake, day(n))]
    assert len(quarantined) == injected
    with_ids = Counter(q["event_id"] for q in quarantined if q["event_id"])
    assert set(with_ids) <= set(stats["malformed"]["ids"])
    expected_reason = {"missing_field": {"missing_required_field"}, "wrong_type": {"wrong_type", "invalid_timestamp"},
                       "bad_timestamp": {"invalid_timestamp"}, "not_an_object": {"malformed_record"},
                       "unknown_type": {"unknown_event_type"}, "truncated_payload": {"wrong_type"}}
    reasons = Counter(q["reason"] for q in quarantined)
    for kind, n in stats["malformed"]["by_kind"].items():
        assert n == 0 or reasons.keys() & expected_reason[kind], kind
    assert sum(reasons.values()) == injected


def test_schema_drift_new_fields_are_kept_not_quarantined(lake, population, pseudonymiser):
    with MarketplaceSimulator(population, faults=FaultConfig(seed=4, extra_field_rate=0.05)) as sim:
        loaded, _ = ingest(lake, sim.url, day(2), pseudonymiser)
    assert loaded["counts"]["quarantined"] == 0
    rows = raw_rows(lake, day(2))
    drifted = [r for r in rows if r["source_extras"]]
    assert len(drifted) > 0
    assert all(orjson.loads(r["source_extras"]) == {"x_release": "2026.11"} for r in drifted)
    assert all(orjson.loads(r["payload"])["x_confidence"] == 0.9 for r in drifted)
    assert all(r["source_extras"] is None and "x_confidence" not in r["payload"] for r in rows if r not in drifted)


def test_an_unknown_event_version_fails_the_batch_loudly_and_commits_nothing(lake, population, pseudonymiser):
    with MarketplaceSimulator(population) as sim:
        ingest(lake, sim.url, day(3), pseudonymiser)
        before = snapshot(lake, "raw", "quarantine")
        bumped = Counter(r["type"] for r in served(population, day(3))).most_common(1)[0][0].removesuffix(".v1")
        sim.set_faults(FaultConfig(version_bump_type=bumped))
        with pytest.raises(UnknownEventVersion, match=rf"source 'marketplace' sent '{bumped}' version 2"):
            ingest(lake, sim.url, day(3), pseudonymiser)
    assert snapshot(lake, "raw", "quarantine") == before  # the last good commit stands, untouched


# --- throttling and outages --------------------------------------------------------------------------------

def test_429_and_503_storms_are_waited_out_within_the_attempt_bound(lake, population, pseudonymiser):
    clean = Counter()
    with MarketplaceSimulator(population) as sim:
        clean.update(ingest(lake, sim.url, day(1), pseudonymiser, limit=100)[0]["counts"])
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    faults = FaultConfig(seed=9, rate_429=0.4, rate_5xx=0.3, retry_after_s=1, max_consecutive_faults=3)
    began = time.monotonic()
    with MarketplaceSimulator(population, faults=faults) as sim:
        loaded, stats = ingest(lake, sim.url, day(1), pseudonymiser, max_attempts=4, sleep=sleep, limit=100)
        served_stats = requests.get(f"{sim.url}/_admin/stats", timeout=5).json()["served"]
    elapsed = time.monotonic() - began
    assert Counter(loaded["counts"]) == clean  # same result as without the storm
    assert stats.throttled == served_stats["429"] > 0 and stats.server_errors == served_stats["5xx"] > 0
    assert stats.retries == stats.throttled + stats.server_errors == len(waits)
    # every 429 carried Retry-After: 1 and exactly that was waited, for real; 5xx fell back to jittered backoff
    assert stats.retry_after_honoured == [1.0] * stats.throttled
    assert waits.count(1.0) >= stats.throttled and all(w <= 30.0 for w in waits)
    assert elapsed >= sum(waits) >= stats.throttled


def test_a_storm_beyond_the_attempt_bound_fails_clearly_and_commits_nothing(lake, population, pseudonymiser):
    faults = FaultConfig(rate_5xx=1.0, max_consecutive_faults=1000, retry_after_s=0)
    with MarketplaceSimulator(population, faults=faults) as sim:
        conn = connector(sim.url, max_attempts=3)
        with pytest.raises(SourceUnavailable, match=r"/v1/events .* still answered HTTP 5\d\d after 3 attempts"):
            extract_to_landing(lake, conn, day(4))
        assert requests.get(f"{sim.url}/_admin/stats", timeout=5).json()["served"]["requests"] == 3
    assert not lake.exists(layout.landing_manifest_ref(lake, "marketplace", day(4)))
    assert list(lake.list_keys(lake.settings.lake_bucket, "landing/")) == []


# --- crashes and concurrent writers -----------------------------------------------------------------------

CRASHING_LOAD = r"""
import os, signal, sys
from hiring_signals.config import load_settings
from hiring_signals.identity import Pseudonymiser
from hiring_signals.ingest import load_to_raw
from hiring_signals.sources.marketplace import to_envelope
from hiring_signals.storage import Interval, Lake
from hiring_signals.storage.lake import Lake as LakeClass

crash_at, interval_key = sys.argv[1], sys.argv[2]
die = lambda: os.kill(os.getpid(), signal.SIGKILL)  # kill -9: no cleanup, no finally blocks
put, put_if, delete_keys = LakeClass.put, LakeClass.put_if, LakeClass.delete_keys

def crashing_put(self, ref, body, content_type="application/octet-stream"):
    put(self, ref, body, content_type)
    if crash_at == "after_first_data_file" and ref.key.startswith("raw/events/"):
        die()

def crashing_put_if(self, ref, body, **kwargs):
    if crash_at == "before_manifest_commit":
        die()
    return put_if(self, ref, body, **kwargs)

def crashing_delete(self, bucket, keys):
    if crash_at == "after_manifest_commit" and keys:
        die()
    return delete_keys(self, bucket, keys)

LakeClass.put, LakeClass.put_if, LakeClass.delete_keys = crashing_put, crashing_put_if, crashing_delete
settings = load_settings()
load_to_raw(Lake(settings.s3), "marketplace", Interval.parse_key(interval_key),
            Pseudonymiser(settings.pseudonym_key()), to_envelope)
print("finished without crashing")
"""


@pytest.mark.parametrize("crash_at", ["after_first_data_file", "before_manifest_commit", "after_manifest_commit"])
def test_a_worker_killed_mid_write_leaves_no_partial_batch_and_a_rerun_is_identical(
        crash_at, lake, hs_env, population, pseudonymiser, tmp_path):
    interval = day(5)
    with MarketplaceSimulator(population) as sim:
        extract_to_landing(lake, connector(sim.url), interval)
    load_to_raw(lake, "marketplace", interval, pseudonymiser, to_envelope)
    clean = snapshot(lake, "raw", "quarantine")
    # an older version of the batch (the source has since served more) is what the crashed run replaces
    older = list(served(population, interval))[: len(served(population, interval)) // 2]
    load_to_raw(lake, "marketplace", interval, pseudonymiser, to_envelope, records=older)
    manifest_ref = layout.raw_manifest_ref(lake, "marketplace", interval)
    older_manifest = lake.get(manifest_ref)
    older_rows = len(raw_rows(lake, interval))

    env = {**os.environ, **hs_env, "PYTHONPATH": str(REPO_ROOT)}
    script = tmp_path / "crashing_load.py"  # a file, not -c: PySpark's import-time doctest probe exits under -c
    script.write_text(CRASHING_LOAD)
    done = subprocess.run([sys.executable, str(script), crash_at, interval.key], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == -9, done.stdout + done.stderr

    if crash_at == "after_manifest_commit":
        # committed: readers see the whole new batch; only superseded garbage is left behind
        assert lake.get(manifest_ref) == clean[manifest_ref.key]
        assert len(raw_rows(lake, interval)) > older_rows
    else:
        # not committed: readers still see exactly the older batch, never a mix
        assert lake.get(manifest_ref) == older_manifest
        assert len(raw_rows(lake, interval)) == older_rows
    assert orphans(lake), "the crash should have left unreferenced objects behind"

    load_to_raw(lake, "marketplace", interval, pseudonymiser, to_envelope)
    assert snapshot(lake, "raw", "quarantine") == clean
    assert orphans(lake) == set()


CONCURRENT_LOAD = r"""
import sys, time
from hiring_signals.config import load_settings
from hiring_signals.identity import Pseudonymiser
from hiring_signals.ingest import load_to_raw
from hiring_signals.sources.marketplace import to_envelope
from hiring_signals.storage import Interval, Lake

go = float(sys.argv[2])
while time.time() < go:  # both writers start together
    time.sleep(0.001)
settings = load_settings()
result = load_to_raw(Lake(settings.s3), "marketplace", Interval.parse_key(sys.argv[1]),
                     Pseudonymiser(settings.pseudonym_key()), to_envelope)
print(result["counts"])
"""


def test_two_concurrent_runs_of_one_interval_commit_one_identical_result(lake, hs_env, population, pseudonymiser,
                                                                         tmp_path):
    interval = day(6)
    with MarketplaceSimulator(population) as sim:
        extract_to_landing(lake, connector(sim.url), interval)
    load_to_raw(lake, "marketplace", interval, pseudonymiser, to_envelope)
    clean = snapshot(lake, "raw", "quarantine")
    lake.delete_keys(lake.settings.lake_bucket, list(clean))

    env = {**os.environ, **hs_env, "PYTHONPATH": str(REPO_ROOT)}
    script = tmp_path / "concurrent_load.py"
    script.write_text(CONCURRENT_LOAD)
    go = time.time() + 8
    runs = [subprocess.Popen([sys.executable, str(script), interval.key, str(go)], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert outputs[0][0] == outputs[1][0]  # both report the same counts
    assert snapshot(lake, "raw", "quarantine") == clean
    assert orphans(lake) == set()


def test_a_concurrent_commit_with_other_content_wins_and_the_loser_leaves_nothing(lake):
    ref = lake.ref("raw", "_manifests/test/batch.json")
    prefix = "events/test/batch"

    def files(tag: bytes) -> list[StagedFile]:
        return [StagedFile("raw", prefix, "bin", tag * 10, rows=1)]

    put_if = Lake.put_if
    winner_files = files(b"W")

    def racing_put_if(self, manifest_ref, body, **kwargs):
        # the other run commits between this run's uploads and its manifest PUT
        Lake.put_if = put_if
        commit_batch(lake, manifest_ref=ref, files=winner_files, batch_prefixes=[("raw", prefix)], body={"v": "W"})
        return put_if(self, manifest_ref, body, **kwargs)

    Lake.put_if = racing_put_if
    try:
        with pytest.raises(ConcurrentCommit, match="committed by another run with different content"):
            commit_batch(lake, manifest_ref=ref, files=files(b"L"), batch_prefixes=[("raw", prefix)], body={"v": "L"})
    finally:
        Lake.put_if = put_if
    manifest = lake.get_json(ref)
    assert manifest["v"] == "W"
    assert sorted(lake.list_keys(lake.settings.lake_bucket, f"raw/{prefix}/")) == [f["key"] for f in manifest["files"]]


# --- property: order and redelivery never change what lands -------------------------------------------------

@pytest.fixture(scope="module")
def property_stream():
    small = generate(seed=31, start=START, end=START + timedelta(days=3), candidates=40, employers=6,
                     redelivery_rate=0.0)
    records = [r for r in small.records if small.start_at + timedelta(days=1) <= datetime.fromisoformat(
        r["updated_at"].replace("Z", "+00:00")) < small.start_at + timedelta(days=2)]
    assert len(records) >= 20
    return records


CLEAN_ZONES: dict[str, dict[str, bytes]] = {}  # lake bucket -> its raw and quarantine zones after the clean load


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_shuffled_partly_duplicated_stream_lands_the_same_raw_zone(data, lake, pseudonymiser, property_stream):
    interval = day(1)
    # The clean load once per lake: every example ends by reloading the clean stream and checking the zone is
    # exactly this again, so the next example starts from it.
    bucket = lake.settings.lake_bucket
    if bucket not in CLEAN_ZONES:
        load_to_raw(lake, "marketplace", interval, pseudonymiser, to_envelope, records=property_stream)
        CLEAN_ZONES[bucket] = snapshot(lake, "raw", "quarantine")
    clean = CLEAN_ZONES[bucket]

    order = data.draw(st.permutations(range(len(property_stream))), label="order")
    repeats = data.draw(st.lists(st.integers(0, len(property_stream) - 1), max_size=len(property_stream)),
                        label="redelivered")
    stream = [property_stream[i] for i in order] + [property_stream[i] for i in repeats]
    stream = data.draw(st.permutations(stream), label="arrival order")
    loaded = load_to_raw(lake, "marketplace", interval, pseudonymiser, to_envelope, records=stream)
    assert loaded["counts"] == {"received": len(stream), "accepted": len(property_stream),
                                "duplicates": len(repeats), "quarantined": 0}
    # the manifest carries the batch's counts, which differ; every data file is byte-identical
    dirty = snapshot(lake, "raw", "quarantine")
    data_keys = {k for k in clean if not k.startswith("raw/_manifests/")}
    assert {k: dirty.get(k) for k in data_keys} == {k: clean[k] for k in data_keys}
    assert set(dirty) == set(clean)
    load_to_raw(lake, "marketplace", interval, pseudonymiser, to_envelope, records=property_stream)
    assert snapshot(lake, "raw", "quarantine") == clean


# --- durable per-source watermark ---------------------------------------------------------------------------

def test_the_watermark_advances_only_over_committed_gap_free_history(hs_env, population):
    from hiring_signals import pipeline
    from hiring_signals.config import load_settings

    with MarketplaceSimulator(population) as sim:
        settings = load_settings({**hs_env, "HS_MARKETPLACE_URL": sim.url})
        lake = Lake(settings.s3)
        lake.ensure_buckets()

        def run(n: int) -> dict:
            pipeline.extract(settings, "marketplace", day(n).start, day(n).end)
            return pipeline.load(settings, "marketplace", day(n).start, day(n).end)

        assert run(0)["watermark"] == day(0).end.isoformat()
        assert run(2)["watermark"] == day(0).end.isoformat()  # day 1 missing: the watermark waits
        state = pipeline.ingest_state(lake, "marketplace")
        assert state["gaps"] == [day(2).start.isoformat()] and state["committed_batches"] == 2
        # a failed run (source down) commits nothing and leaves the state as it was
        sim.set_faults(FaultConfig(rate_5xx=1.0, max_consecutive_faults=1000))
        failing = load_settings({**hs_env, "HS_MARKETPLACE_URL": sim.url, "HS_HTTP_MAX_ATTEMPTS": "2"})
        with pytest.raises(SourceUnavailable):
            pipeline.extract(failing, "marketplace", day(1).start, day(1).end)
        assert pipeline.ingest_state(lake, "marketplace") == state
        sim.set_faults(FaultConfig())
        assert run(1)["watermark"] == day(2).end.isoformat()
    assert pipeline.ingest_state(lake, "marketplace")["gaps"] == []
