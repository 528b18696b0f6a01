"""Ingestion over real HTTP (simulator) into the real S3 endpoint (moto_server)."""

import gzip
from datetime import date, datetime, timedelta, timezone

import orjson
import pyarrow.parquet as pq
import io
import pytest
import requests

from hiring_signals.ingest import extract_to_landing, load_to_raw
from hiring_signals.simulators.marketplace import FaultConfig, MarketplaceSimulator, generate
from hiring_signals.sources.http import SourceHttpClient
from hiring_signals.sources.marketplace import MarketplaceConnector, to_envelope
from hiring_signals.storage import Interval, read_manifests
from hiring_signals.storage import layout

START = date(2026, 5, 1)


@pytest.fixture(scope="module")
def population():
    return generate(seed=11, start=START, end=START + timedelta(days=10), candidates=80, employers=10)


def day(n: int) -> Interval:
    start = datetime.combine(START + timedelta(days=n), datetime.min.time(), tzinfo=timezone.utc)
    return Interval(start, start + timedelta(days=1))


def served(population, interval):
    lo, hi = population.window(*(int(b.timestamp() * 1_000_000) for b in (interval.start, interval.end)))
    return population.records[lo:hi]


def ingest(lake, url, interval, pseudonymiser, limit=50):
    connector = MarketplaceConnector(SourceHttpClient(url, max_attempts=6, backoff_initial_s=0.01,
                                                      sleep=lambda s: None), page_limit=limit)
    extracted = extract_to_landing(lake, connector, interval)
    loaded = load_to_raw(lake, "marketplace", interval, pseudonymiser, to_envelope)
    return extracted, loaded, connector.client.stats


def zone_snapshot(lake):
    bucket = lake.settings.lake_bucket
    return {k: lake.get(lake.ref(k.split("/")[0], k)) for k in lake.list_keys(bucket, "") if not k.startswith("ops/")}


def raw_rows(lake, interval):
    manifest = lake.get_json(layout.raw_manifest_ref(lake, "marketplace", interval))
    tables = [pq.read_table(io.BytesIO(lake.get(lake.ref("raw", f["key"])))) for f in manifest["files"] if f["zone"] == "raw"]
    return [r for t in tables for r in t.to_pylist()]


def test_day_lands_in_raw_with_counts_that_reconcile(lake, population, pseudonymiser):
    with MarketplaceSimulator(population) as sim:
        extracted, loaded, _ = ingest(lake, sim.url, day(3), pseudonymiser)
    expected = served(population, day(3))
    counts = loaded["counts"]
    assert extracted["records"] == counts["received"] == len(expected)
    assert counts["accepted"] == len({r["id"] for r in expected})
    assert counts["received"] == counts["accepted"] + counts["duplicates"] + counts["quarantined"]
    rows = raw_rows(lake, day(3))
    assert len(rows) == counts["accepted"]
    assert all(r["ingested_at"] == day(3).end for r in rows)
    assert all(r["candidate_ref"] is None or r["candidate_ref"].startswith("cand_") for r in rows)
    assert b"@" not in b"".join(r["payload"].encode() for r in rows)


def test_rerun_of_an_interval_is_byte_identical(lake, population, pseudonymiser):
    with MarketplaceSimulator(population) as sim:
        ingest(lake, sim.url, day(2), pseudonymiser)
        first = zone_snapshot(lake)
        ingest(lake, sim.url, day(2), pseudonymiser)
        assert zone_snapshot(lake) == first
        ingest(lake, sim.url, day(2), pseudonymiser, limit=7)  # other page size: other pages, same events
    again = zone_snapshot(lake)
    # landing keeps the pages as received (so it changes with the page size) and is replaced, not added to
    landing_manifest = lake.get_json(layout.landing_manifest_ref(lake, "marketplace", day(2)))
    assert {k for k in again if k.startswith("landing/api/")} == {f["key"] for f in landing_manifest["files"]}
    assert {k: v for k, v in again.items() if not k.startswith("landing/")} == \
           {k: v for k, v in first.items() if not k.startswith("landing/")}


def test_malformed_records_are_quarantined_with_reasons_and_no_pii(lake, population, pseudonymiser):
    faults = FaultConfig(seed=3, malformed_rate=0.2)
    with MarketplaceSimulator(population, faults=faults) as sim:
        _, loaded, _ = ingest(lake, sim.url, day(4), pseudonymiser)
        stats = requests.get(f"{sim.url}/_admin/stats", timeout=5).json()
    window = {r["id"] for r in served(population, day(4))}
    injected = [i for i in stats["malformed"]["ids"] if i in window]
    assert loaded["counts"]["quarantined"] == len(injected) > 0
    manifest = lake.get_json(layout.raw_manifest_ref(lake, "marketplace", day(4)))
    (qfile,) = [f for f in manifest["files"] if f["zone"] == "quarantine"]
    body = gzip.decompress(lake.get(lake.ref("quarantine", qfile["key"])))
    records = [orjson.loads(line) for line in body.splitlines()]
    assert len(records) == len(injected)
    assert {r["reason"] for r in records} <= {"missing_required_field", "wrong_type", "invalid_timestamp",
                                              "malformed_record", "unknown_event_type"}
    assert all(r["detail"] for r in records)
    assert b"@persona.example" not in body and b"@example" not in body.lower().replace(b"<email:", b"")


def test_throttling_and_server_errors_are_ridden_out(lake, population, pseudonymiser):
    faults = FaultConfig(seed=5, rate_429=0.5, rate_5xx=0.3, retry_after_s=0)
    with MarketplaceSimulator(population, faults=faults) as sim:
        _, loaded, stats = ingest(lake, sim.url, day(5), pseudonymiser, limit=20)
        sim_stats = requests.get(f"{sim.url}/_admin/stats", timeout=5).json()
    assert stats.retries > 0 and stats.throttled + stats.server_errors == stats.retries
    assert loaded["counts"]["received"] == len(served(population, day(5)))
    assert sim_stats["served"]["429"] == stats.throttled and sim_stats["served"]["5xx"] == stats.server_errors


def test_load_without_extract_is_a_clear_error(lake, pseudonymiser):
    with pytest.raises(FileNotFoundError, match="run the extract step"):
        load_to_raw(lake, "marketplace", day(9), pseudonymiser, to_envelope)


def test_manifests_list_every_committed_interval(lake, population, pseudonymiser):
    with MarketplaceSimulator(population) as sim:
        for n in (0, 1):
            ingest(lake, sim.url, day(n), pseudonymiser)
    manifests = read_manifests(lake, "raw", layout.raw_manifests_prefix("marketplace"))
    assert [m["interval"]["start"][:10] for m in manifests] == ["2026-05-01", "2026-05-02"]
    assert all(m["validation"]["success"] for m in manifests)


def test_a_weekly_catch_up_run_lands_exactly_what_seven_nightly_runs_would(hs_env, population):
    from hiring_signals import pipeline
    from hiring_signals.config import load_settings
    from hiring_signals.storage import Lake

    snapshots = []
    with MarketplaceSimulator(population) as sim:
        for plan in ([(0, 7)], [(n, n + 1) for n in range(7)]):
            env = dict(hs_env, HS_MARKETPLACE_URL=sim.url, HS_LAKE_BUCKET=hs_env["HS_LAKE_BUCKET"] + f"-{len(plan)}")
            settings = load_settings(env)
            lake = Lake(settings.s3)
            lake.ensure_buckets()
            for a, b in plan:
                pipeline.extract(settings, "marketplace", day(a).start, day(b).start)
                result = pipeline.load(settings, "marketplace", day(a).start, day(b).start)
                assert len(result["batches"]) == b - a
            # the two plans write to two buckets; manifests name theirs
            snapshots.append({k: v.replace(settings.s3.lake_bucket.encode(), b"BUCKET")
                              for k, v in zone_snapshot(lake).items() if not k.startswith("landing/")})
    weekly, nightly = snapshots
    assert len([k for k in weekly if k.startswith("raw/_manifests/")]) == 7
    diff = sorted(k for k in set(weekly) | set(nightly) if weekly.get(k) != nightly.get(k))
    assert weekly == nightly, diff[:5]
