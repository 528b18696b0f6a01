"""Recruiter drops end to end on moto_server: simulated agency files land in S3, S3 notifies SQS, exactly
the notified keys are ingested; duplicates, late and truncated files are accounted for, reruns change
nothing, and people resolve to the same candidate_ref as on the marketplace."""

import gzip
import io
import uuid
from collections import Counter
from datetime import date, datetime, time, timezone

import orjson
import pyarrow.parquet as pq
import pytest

from hiring_signals import drops
from hiring_signals.config import load_settings
from hiring_signals.identity import Pseudonymiser
from hiring_signals.ingest import load_to_raw
from hiring_signals.simulators.marketplace import generate as generate_marketplace
from hiring_signals.simulators.recruiter_drops import DropFaults, generate, upload
from hiring_signals.sources.marketplace import to_envelope as marketplace_envelope
from hiring_signals.storage import Interval, Lake, ObjectRef
from hiring_signals.storage import layout
from hiring_signals.storage.notifications import delete, ensure_drop_notifications, queue_url, receive, sqs_client

START, END = date(2026, 5, 1), date(2026, 6, 12)
FAULTS = DropFaults(duplicate_files=2, late_files=1, late_by_days=21, truncated_files=3)


@pytest.fixture(scope="module")
def population():
    return generate_marketplace(23, START, END, candidates=120, employers=12)


@pytest.fixture(scope="module")
def drop_set(population):
    return generate(population.candidates, seed=23, start=START, end=END, share=0.2, faults=FAULTS)


def wire(hs_env: dict):
    settings = load_settings({**hs_env, "HS_RECRUITER_QUEUE": f"drops-{uuid.uuid4().hex[:10]}"})
    lake = Lake(settings.s3)
    lake.ensure_buckets()
    first = ensure_drop_notifications(settings)
    assert first["changed"] and not ensure_drop_notifications(settings)["changed"]  # idempotent
    return settings, lake


@pytest.fixture
def env(hs_env):
    return wire(hs_env)


def notified_keys(settings) -> list[str]:
    """Drain the queue the way the watcher does: every object-created notification, test events skipped."""
    sqs = sqs_client(settings.s3)
    url = queue_url(sqs, settings.recruiter_queue)
    keys = []
    while True:
        messages = receive(sqs, url, wait_time_seconds=1, visibility_timeout=60)
        if not messages:
            return keys
        keys += [o.key for m in messages for o in m.notification.objects]
        delete(sqs, url, [m.receipt_handle for m in messages])


def snapshot(lake, prefixes=("raw/", "quarantine/", "ops/")) -> dict[str, bytes]:
    bucket = lake.settings.lake_bucket
    return {k: lake.get(ObjectRef(bucket, k)) for k in lake.list_keys(bucket, "") if k.startswith(prefixes)}


def raw_rows(lake) -> list[dict]:
    rows = []
    for m in drops.drop_manifests(lake):
        for f in m["files"]:
            if f["zone"] == "raw":
                rows += pq.read_table(io.BytesIO(lake.get(ObjectRef(f["bucket"], f["key"])))).to_pylist()
    return rows


def quarantine_records(lake) -> list[dict]:
    out = []
    for m in drops.drop_manifests(lake):
        for f in m["files"]:
            if f["zone"] == "quarantine":
                body = gzip.decompress(lake.get(ObjectRef(f["bucket"], f["key"])))
                out += [orjson.loads(line) for line in body.splitlines()]
    return out


@pytest.fixture(scope="module")
def pseudonymiser():
    return Pseudonymiser(b"recruiter-drops-test-key-" + b"0" * 32)


@pytest.fixture(scope="module")
def ingested(moto_endpoint, tmp_path_factory, drop_set, pseudonymiser):
    """One ingestion of the whole drop set, shared by the tests that only read it (or restore it)."""
    suffix = uuid.uuid4().hex[:10]
    settings, lake = wire({"HS_HOME": str(tmp_path_factory.mktemp("hs-home")), "HS_S3_ENDPOINT_URL": moto_endpoint,
                           "HS_LAKE_BUCKET": f"lake-{suffix}", "HS_FEEDS_BUCKET": f"feeds-{suffix}",
                           "HS_PSEUDONYM_KEY": "unused-" + "0" * 32})
    uploaded = upload(lake, drop_set.files)
    keys = notified_keys(settings)
    assert sorted(keys) == sorted(uploaded)  # every drop was announced, nothing else
    result = drops.ingest_drop_keys(lake, keys, pseudonymiser)
    assert result["errors"] == []
    return settings, lake, result


def test_notified_drops_are_ingested_with_counts_that_reconcile(ingested, drop_set):
    _, lake, result = ingested
    by_key = {f["key"]: f for f in result["files"]}
    assert set(by_key) == {f.key for f in drop_set.files}
    for f in drop_set.files:
        c = by_key[f.key]["counts"]
        assert c["received"] == f.rows == c["accepted"] + c["duplicates"] + c["quarantined"], f.key
        if f.kind in {"regular", "late"}:
            assert (c["accepted"], c["duplicates"], c["quarantined"]) == (f.rows, 0, 0), f.key

    # a file dropped twice: detected by content, every row a duplicate, nothing committed again
    for f in drop_set.by_kind("duplicate"):
        assert by_key[f.key]["status"] == "duplicate_file" and by_key[f.key]["duplicate_of"] == f.duplicate_of
        assert by_key[f.key]["counts"] == {"received": f.rows, "accepted": 0, "duplicates": f.rows, "quarantined": 0}
    # a truncated file: its cut row quarantined, the rest accepted; the complete re-send adds only that row
    truncated = drop_set.by_kind("truncated")
    assert sum(by_key[f.key]["counts"]["quarantined"] for f in truncated) == len(truncated) == FAULTS.truncated_files
    assert all(by_key[f.key]["quarantine_reasons"] == {"truncated_row": 1} for f in truncated)
    for f in drop_set.by_kind("resend"):
        assert by_key[f.key]["counts"] == {"received": f.rows, "accepted": 1, "duplicates": f.rows - 1, "quarantined": 0}

    totals = result["totals"]
    assert totals["files"] == len(drop_set.files) and totals["duplicate_files"] == FAULTS.duplicate_files
    assert totals["received"] == sum(f.rows for f in drop_set.files)
    assert totals["quarantined"] == FAULTS.truncated_files
    dropped_events = {e for f in drop_set.files for e in f.event_ids} | {f.truncated_event_id for f in truncated}
    assert totals["accepted"] == len(dropped_events)  # every event once, whichever files carried it
    assert drops.reconcile(lake)["received"] == totals["received"] and drops.pending_keys(lake) == []

    rows = raw_rows(lake)
    assert sorted(r["event_id"] for r in rows) == sorted(dropped_events)
    assert Counter(r["source"] for r in rows) == {"recruiter": len(rows)}
    assert b"@" not in b"".join(r["payload"].encode() for r in rows)


def test_knowledge_time_is_the_drop_time_and_late_files_stay_late(ingested, drop_set):
    _, lake, _ = ingested
    rows = {r["event_id"]: r for r in raw_rows(lake)}
    received = {}
    for f in drop_set.files:
        for e in f.event_ids:
            received.setdefault(e, f.received_at)  # the first file to carry an event is the one that counts
    for event_id, row in rows.items():
        if event_id in received:
            assert row["ingested_at"] == received[event_id]
        assert row["occurred_at"] <= row["ingested_at"]
    (late,) = drop_set.by_kind("late")
    for event_id in late.event_ids:
        lag = rows[event_id]["ingested_at"] - rows[event_id]["occurred_at"]
        assert lag.days >= FAULTS.late_by_days  # occurred weeks before it became known
    # its batch sits in the partition of the day it arrived, not the day it was exported
    manifests = {m["file"]["key"]: m for m in drops.drop_manifests(lake)}
    assert manifests[late.key]["ingested_at"].startswith(late.received_at.date().isoformat())


def test_quarantine_records_say_why_and_where_without_pii(ingested, drop_set):
    _, lake, _ = ingested
    records = quarantine_records(lake)
    assert len(records) == FAULTS.truncated_files
    assert {r["reason"] for r in records} == {"truncated_row"}
    assert {r["landing"]["key"] for r in records} == {f.key for f in drop_set.by_kind("truncated")}
    assert all(r["detail"] and r["landing"]["line"] >= 2 for r in records)
    text = orjson.dumps(records).decode()
    people = {e.email for e in drop_set.events}
    names = {e.fields["last_name"] for e in drop_set.events}
    assert not any(email in text for email in people)
    assert "@" not in text.replace("<email:", "")
    assert not any(f'"{name}' in text for name in names)


def test_rerunning_the_same_keys_changes_nothing(ingested, drop_set, pseudonymiser):
    settings, lake, result = ingested
    before = snapshot(lake)
    again = drops.ingest_drop_keys(lake, [f.key for f in drop_set.files], pseudonymiser)
    assert again["totals"]["already_ingested"] == len(drop_set.files)
    assert again["totals"]["received"] == 0
    assert snapshot(lake) == before

    # a crash after some commits, before their state was written: the next run rolls it forward, same bytes
    victims = [f["file_id"] for f in result["files"][:5]]
    lake.delete_keys(settings.s3.lake_bucket, [drops.done_ref(lake, v).key for v in victims])
    assert drops.pending_keys(lake) == []  # committed batches are not pending
    rolled = drops.ingest_drop_keys(lake, [], pseudonymiser)
    assert sorted(rolled["repaired"]) == sorted(victims)
    assert snapshot(lake) == before


def test_a_lost_notification_is_caught_by_the_sweep(env, drop_set, pseudonymiser):
    settings, lake = env
    first, lost = drop_set.files[0], drop_set.files[1]
    upload(lake, [first, lost])
    announced = notified_keys(settings)
    result = drops.ingest_drop_keys(lake, announced[:1], pseudonymiser)  # the other message never arrived
    assert [f["key"] for f in result["files"]] == [first.key]
    assert drops.pending_keys(lake) == [lost.key]
    swept = drops.sweep(lake, pseudonymiser)
    assert swept["swept"] == [lost.key] and swept["totals"]["accepted"] == lost.rows
    assert drops.pending_keys(lake) == []


def test_files_that_cannot_be_ingested_fail_loudly_and_stay_pending(env, drop_set, pseudonymiser):
    settings, lake = env
    good = drop_set.files[0]
    upload(lake, [good])
    unknown = "landing/drops/agency=acme-search/acme_20260504.csv"
    lake.client.put_object(Bucket=settings.s3.lake_bucket, Key=unknown, Body=b"id,email\n1,a@b.org\n")
    result = drops.ingest_drop_keys(lake, [unknown, good.key, "landing/drops/agency=acme-search/gone.csv"],
                                    pseudonymiser)
    assert [f["key"] for f in result["files"]] == [good.key]  # the rest went on
    assert {e["type"] for e in result["errors"]} == {"UnknownAgency", "NoSuchKey"}
    assert drops.pending_keys(lake) == [unknown]
    with pytest.raises(drops.DropIngestionFailed, match="acme-search"):
        drops.ingest_drop_keys(lake, [unknown], pseudonymiser, strict=True)

    # landing is write-once: changed bytes under an ingested key are refused, not silently re-ingested
    lake.client.put_object(Bucket=settings.s3.lake_bucket, Key=good.key, Body=good.body + good.body[-40:],
                           Metadata={"received-at": "2026-06-01T00:00:00Z"})
    changed = drops.ingest_drop_keys(lake, [good.key], pseudonymiser)
    assert [e["type"] for e in changed["errors"]] == ["LandingChanged"]


def test_same_person_resolves_to_the_same_candidate_ref_across_agencies_and_the_marketplace(
        ingested, drop_set, population, pseudonymiser):
    _, lake, _ = ingested
    # the marketplace's own ingestion path, over the same window
    window = Interval(datetime.combine(START, time(0), tzinfo=timezone.utc),
                      datetime.combine(END, time(0), tzinfo=timezone.utc))
    load_to_raw(lake, "marketplace", window, pseudonymiser, marketplace_envelope, records=population.records)
    manifest = lake.get_json(layout.raw_manifest_ref(lake, "marketplace", window))
    market = [r for f in manifest["files"] if f["zone"] == "raw"
              for r in pq.read_table(io.BytesIO(lake.get(ObjectRef(f["bucket"], f["key"])))).to_pylist()]
    recruiter = raw_rows(lake)

    person_of = {e.event_id: (e.candidate_id, e.email) for e in drop_set.events}
    agencies_by_person: dict[tuple, set] = {}
    refs_by_person: dict[tuple, set] = {}
    for row in recruiter:
        person = person_of[row["event_id"]]
        agencies_by_person.setdefault(person, set()).add(row["source_tenant"])
        refs_by_person.setdefault(person, set()).add(row["candidate_ref"])
    on_marketplace = {r["candidate"]["id"] for r in population.records if r["candidate"]}
    market_refs = {r["candidate_ref"] for r in market if r["candidate_ref"]}

    for (candidate_id, email), refs in refs_by_person.items():
        # one ref per person, whatever the agency and however it spelled the email ...
        assert refs == {pseudonymiser.candidate_ref(email)}
        if candidate_id in on_marketplace:
            assert refs <= market_refs  # ... and the very ref the marketplace pipeline produced
    multi = [p for p, agencies in agencies_by_person.items() if len(agencies) > 1 and p[0] in on_marketplace]
    assert multi, "the simulated population should place someone active on the marketplace with two agencies"


def test_a_second_concurrent_writer_of_the_state_fails_loudly(env):
    _, lake = env
    mine, theirs = drops.EventIndex(lake, "beacon-staffing"), drops.EventIndex(lake, "beacon-staffing")
    event = "beacon-staffing:bcn_1:submitted"
    assert mine.owner(event) is None and theirs.owner(event) is None  # both read the (empty) shard
    theirs.claim([event], "file-a")
    theirs.flush()
    mine.claim([event], "file-b")
    with pytest.raises(drops.ConcurrentIngestion, match="only one"):
        mine.flush()
    assert drops.EventIndex(lake, "beacon-staffing").owner(event) == "file-a"
