"""Incremental signal job on S3 (moto): night after night from the previous state, byte-identical to a rebuild.

A hand-built raw zone (two API sources in daily batches plus a recruiter drop) grows one day at a time, with a
late feedback, a credential revoked a day after the fact, a cross-day redelivery with a changed payload, an
event ingested before it occurred, feedback on an old engagement, a new employer's posting, a recruiter drop
received during the next day and a batch of an earlier day committed late. Each night the job runs in auto
mode (incremental from the previous night's state), then again with --mode full: the curated datasets and the
state must be the same objects (content-hashed names, so the same bytes), and the incremental run must have
read only the raw objects committed since the previous night.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta, timezone

import pyarrow as pa
import pytest

from hiring_signals import drops
from hiring_signals.config import load_settings
from hiring_signals.contract.raw_schema import raw_event_arrow_schema, raw_event_column_names
from hiring_signals.ingest import parquet_bytes
from hiring_signals.storage import Interval, Lake, StagedFile, commit_batch
from hiring_signals.storage import layout
from tests.raw_rows import ADA, BEN, CARA, ev, iso

pytestmark = pytest.mark.spark

START = date(2026, 6, 1)
DATASETS = ("candidates", "engagements", "candidate_signals")


def at(day: float, hour: int = 0) -> datetime:
    return datetime.combine(START, time(), tzinfo=timezone.utc) + timedelta(days=day, hours=hour)


def as_of(day: int) -> date:
    return START + timedelta(days=day)


def interval(day: int) -> Interval:
    return Interval(at(day), at(day + 1))


def raw_table(rows: list[dict], source: str, batch_id: str, ingested_at: datetime) -> pa.Table:
    """Rows built by tests/raw_rows.ev, placed in one batch of `source` ingested at `ingested_at`."""
    full = [{**r, "source": source, "ingested_at": ingested_at, "batch_id": batch_id} for r in rows]
    return pa.Table.from_pylist([{n: r.get(n) for n in raw_event_column_names()} for r in full],
                                schema=raw_event_arrow_schema())


def commit_api_batch(lake: Lake, source: str, day: int, rows: list[dict]) -> None:
    batch = f"{source}/{interval(day).key}"
    prefix = layout.raw_events_prefix(source, interval(day))
    table = raw_table(rows, source, batch, interval(day).end)
    commit_batch(lake, manifest_ref=layout.raw_manifest_ref(lake, source, interval(day)),
                 files=[StagedFile("raw", prefix, "parquet", parquet_bytes(table), rows=table.num_rows)],
                 batch_prefixes=[("raw", prefix)],
                 body={"zone": "raw", "kind": "events", "source": source, "batch_id": batch,
                       "interval": interval(day).as_dict()})


def commit_drop(lake: Lake, file_id: str, received_at: datetime, rows: list[dict]) -> None:
    prefix = drops.raw_prefix(file_id, received_at.date())
    table = raw_table(rows, drops.SOURCE, f"{drops.SOURCE}/{file_id}", received_at)
    commit_batch(lake, manifest_ref=drops.manifest_ref(lake, file_id, received_at.date()),
                 files=[StagedFile("raw", prefix, "parquet", parquet_bytes(table), rows=table.num_rows)],
                 batch_prefixes=[("raw", prefix)],
                 body={"zone": "raw", "kind": "drop", "source": drops.SOURCE, "batch_id": f"{drops.SOURCE}/{file_id}"})


ENG, EMP = "marketplace:eng_1", "marketplace:emp_1"
ON_ENG = {"engagement": ENG, "employer": EMP}
GIG = {"engagement": "gig:ct_1", "employer": "gig:cl_1", "candidate": BEN}


def feedback(event_id, when, scores, rehire=True):
    q, c, ti, s = scores
    return ev(event_id, "feedback.recorded", when, **ON_ENG, payload={
        "rubric_id": "r", "rubric_version": 2, "would_rehire": rehire,
        "scores": {"quality": q, "communication": c, "timeliness": ti, "skill_fit": s}})


# (source, day) -> rows of that daily batch, committed before the run as of that day
BATCHES: dict[tuple[str, int], list[dict]] = {
    ("marketplace", 0): [
        ev("post", "engagement.posted", at(0, 9), candidate=None, engagement=ENG, employer=EMP,
           payload={"title": "Churn analysis", "category": "data-analysis", "skills": ["Python", "SQL"]}),
        ev("start", "engagement.started", at(0, 10), **ON_ENG),
        ev("iss", "credential.issued", at(0, 12), candidate=CARA, payload={
            "credential_id": "c1", "valid_from": iso(at(0)), "verification_result": "verified", "skills": ["python"]}),
        ev("old-act", "candidate.profile_updated", at(-88), candidate=CARA),
        ev("invited", "application.submitted", at(0, 15), candidate=BEN, engagement="marketplace:app_2",
           payload={"application_id": "a2", "invited_at": iso(at(0, 2))}),
    ],
    ("marketplace", 1): [
        ev("sub1", "deliverable.submitted", at(1, 9), **ON_ENG, payload={
            "deliverable_id": "d1", "due_at": iso(at(1, 8)), "submitted_at": iso(at(1, 9)), "submission_round": 1}),
        ev("out1", "outcome.measured", at(1, 10), **ON_ENG,
           payload={"deliverable_id": "d1", "metric": "churn", "baseline": 10.0, "result": 5.0}),
        ev("ref", "referral.made", at(1, 13), payload={"referred_candidate_ref": BEN}),
        ev("sched", "candidate.profile_updated", at(3, 6), candidate=BEN),  # served before it occurred
    ],
    ("gig", 0): [],
    ("gig", 1): [
        ev("offer", "application.decided", at(1, 9), **GIG,
           payload={"decision": "accepted", "title": "Logo", "category": "design", "skills": ["Figma"]}),
        ev("gstart", "engagement.started", at(1, 10), **GIG),
    ],
    ("marketplace", 2): [
        ev("rev1", "deliverable.reviewed", at(2, 9), **ON_ENG,
           payload={"deliverable_id": "d1", "outcome": "approved", "review_round": 1}),
        ev("done", "engagement.completed", at(2, 15), **ON_ENG),
        feedback("fb1", at(2, 16), (5, 4, 5, 4)),
    ],
    ("gig", 2): [  # committed late: only before the run as of day 4
        ev("gdone", "engagement.completed", at(2, 11), **GIG),
    ],
    ("marketplace", 3): [
        {**ev("out1", "outcome.measured", at(1, 10), **ON_ENG,  # redelivered, changed: the first delivery wins
              payload={"deliverable_id": "d1", "metric": "churn", "baseline": 10.0, "result": 9.0})},
        ev("rvk", "credential.status_changed", at(2, 20), candidate=CARA,  # revoked on day 2, learned on day 3
           payload={"credential_id": "c1", "status": "revoked", "verification_result": "verified"}),
        feedback("fb-late", at(0, 11), (3, 3, 4, 3)),  # occurred on day 0
    ],
    ("gig", 3): [],
    ("marketplace", 4): [
        feedback("fb-old", at(4, 8), (4, 4, 4, 4), rehire=False),  # on the day-0 engagement
        ev("post2", "engagement.posted", at(4, 9), candidate=None, engagement="marketplace:eng_2",
           employer="marketplace:emp_2", payload={"title": "Dashboards", "category": "bi", "skills": ["SQL"]}),
        ev("start2", "engagement.started", at(4, 10), candidate=BEN, engagement="marketplace:eng_2",
           employer="marketplace:emp_2"),
    ],
    ("gig", 4): [],
}
LATE_BATCHES = {("gig", 2): 4}  # committed before the run as of day 4 instead of day 2
# a recruiter file received during day 4: read (ahead) as of day 3, its events known as of day 4
DROP = ("acme-20260605", at(4, 13), [ev("plc", "placement.started", at(4, 9), candidate=BEN,
                                        engagement="recruiter:acme:p1", payload={"placement_id": "p1"})])
DROP_BEFORE_RUN = 3


@pytest.fixture(scope="module")
def settings(moto_endpoint, tmp_path_factory):
    suffix = uuid.uuid4().hex[:10]
    env = {"HS_HOME": str(tmp_path_factory.mktemp("incremental")), "HS_S3_ENDPOINT_URL": moto_endpoint,
           "HS_LAKE_BUCKET": f"lake-{suffix}", "HS_FEEDS_BUCKET": f"feeds-{suffix}",
           "HS_PSEUDONYM_KEY": "incremental-key-" + "7" * 40, "HS_SPARK_MASTER": "local[1]",
           "HS_SOURCES": "marketplace,gig"}
    settings = load_settings(env)
    Lake(settings.s3).ensure_buckets()
    return settings


def committed_files(lake: Lake, as_of_date: date) -> dict[str, list[str]]:
    """Every curated dataset's and state table's data objects (content-hashed keys) for one date."""
    from spark_jobs.candidate_signals import state as st

    out = {name: [f["key"] for f in lake.get_json(layout.curated_manifest_ref(lake, name, as_of_date))["files"]]
           for name in DATASETS}
    state = lake.get_json(layout.state_commit_ref(lake, as_of_date))
    out.update({f"state/{name}": [f["key"] for f in state["tables"][name]["files"]] for name in st.TABLES})
    return out


@pytest.fixture(scope="module")
def nightly(spark, settings) -> list[dict]:
    """Five nights of the history: each night the job in auto mode, then (from the second night, when auto is
    incremental) again with --mode full. What each run read and committed, per night. The later tests of this module continue this lake's history."""
    from spark_jobs.candidate_signals import job

    lake = Lake(settings.s3)
    reads: list[list[str]] = []
    original_read = job.read_raw_events

    def recording_read(spark_, settings_, inputs, objects=None):
        reads.append(sorted(o.path for o in (inputs.objects if objects is None else objects)))
        return original_read(spark_, settings_, inputs, objects)

    def raw_objects() -> set[str]:
        bucket = lake.bucket_for("raw")
        return {f"{bucket}/{k}" for k in lake.list_keys(bucket, "raw/events/") if k.endswith(".parquet")}

    nights: list[dict] = []
    seen: set[str] = set()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(job, "read_raw_events", recording_read)
        for day in range(5):
            for (source, batch_day), rows in BATCHES.items():
                if LATE_BATCHES.get((source, batch_day), batch_day) == day:
                    commit_api_batch(lake, source, batch_day, rows)
            if day == DROP_BEFORE_RUN:
                commit_drop(lake, *DROP)
            new_objects = raw_objects() - seen
            seen |= new_objects
            night = {"day": day, "new_objects": sorted(new_objects), "all_objects": sorted(seen)}

            reads.clear()
            night["auto_rc"] = job.run(spark, settings, as_of(day))
            night["auto_reads"] = list(reads)
            night["auto_computation"] = lake.get_json(
                layout.curated_manifest_ref(lake, "candidate_signals", as_of(day)))["computation"]
            night["auto_files"] = committed_files(lake, as_of(day))

            if day == 0:  # auto had no state to start from: it was the full rebuild (checked below)
                nights.append(night)
                continue
            reads.clear()
            night["full_rc"] = job.run(spark, settings, as_of(day), "full")
            night["full_reads"] = list(reads)
            night["full_computation"] = lake.get_json(
                layout.curated_manifest_ref(lake, "candidate_signals", as_of(day)))["computation"]
            night["full_files"] = committed_files(lake, as_of(day))
            nights.append(night)
    return nights


def test_nightly_incremental_runs_equal_full_rebuilds(nightly, settings):
    lake = Lake(settings.s3)
    for night in nightly:
        day, computation = night["day"], night["auto_computation"]
        assert night["auto_rc"] == 0, night
        if day == 0:
            assert computation["mode"] == "full" and "no committed state" in computation["reason"]
            assert night["auto_reads"] == [night["all_objects"]]
            continue
        assert computation["mode"] == "incremental", computation
        assert computation["previous_state"] == as_of(day - 1).isoformat()
        # the delta read is exactly the raw objects committed since the previous night
        assert night["auto_reads"] == [night["new_objects"]]
        assert computation["delta_files"] == len(night["new_objects"])
        assert night["full_rc"] == 0, night
        assert night["full_computation"]["mode"] == "full"
        assert night["full_reads"] == [night["all_objects"]]
        assert night["full_files"] == night["auto_files"], f"as of {as_of(day)}"

    # what the history was built to exercise did reach the state as of day 4
    state = lake.get_json(layout.state_commit_ref(lake, as_of(4)))
    assert state["computation"]["mode"] == "full"
    signals = {(r["candidate_ref"], r["signal"]): r for r in curated_rows(lake, "candidate_signals", as_of(4))}
    assert signals[(CARA, "active_verified_credentials")]["value"] == 0.0  # revoked
    assert signals[(ADA, "mean_rubric_score")]["evidence_count"] == 3  # fb1, fb-late, fb-old
    assert signals[(ADA, "impact_size")]["value"] == pytest.approx(0.5)  # the first delivery of out1
    assert signals[(BEN, "placements_started")]["value"] == 1.0
    assert signals[(BEN, "engagements_completed")]["value"] == 1.0  # the late gig batch
    assert signals[(CARA, "active_weeks_90d")]["value"] == 0.0  # old activity left the window


def curated_rows(lake: Lake, dataset: str, as_of_date: date) -> list[dict]:
    import io

    import pyarrow.parquet as pq

    manifest = lake.get_json(layout.curated_manifest_ref(lake, dataset, as_of_date))
    return pa.concat_tables([pq.read_table(io.BytesIO(lake.get(lake.ref(f["zone"], f["key"]))))
                             for f in manifest["files"]]).to_pylist()


def test_incremental_is_refused_when_the_raw_zone_changed_under_the_state(nightly, spark, settings, capsys):
    """A batch the previous state consumed was rewritten: auto rebuilds (and says why); --mode incremental fails."""
    from spark_jobs.candidate_signals import job

    lake = Lake(settings.s3)
    day = 5
    rewritten = [r for r in BATCHES[("marketplace", 0)] if r["event_id"] != "old-act"]
    commit_api_batch(lake, "marketplace", 0, rewritten)
    for source in ("marketplace", "gig"):
        commit_api_batch(lake, source, day, [])
    assert job.run(spark, settings, as_of(day), "incremental") == job.EXIT_INCREMENTAL_IMPOSSIBLE
    assert "no longer planned" in capsys.readouterr().err
    assert not lake.exists(layout.curated_manifest_ref(lake, "candidate_signals", as_of(day)))
    assert job.run(spark, settings, as_of(day)) == 0
    computation = lake.get_json(layout.curated_manifest_ref(lake, "candidate_signals", as_of(day)))["computation"]
    assert computation["mode"] == "full" and "no longer planned" in computation["reason"]


def test_a_dedupe_conflict_rebuilds_in_auto_mode_and_fails_in_incremental_mode(nightly, spark, settings, capsys):
    """A delivery served before its event occurred becomes known after a later delivery of the same event was
    indexed: the rebuild's first delivery changes retroactively, which only a rebuild can apply."""
    from spark_jobs.candidate_signals import job

    lake = Lake(settings.s3)
    early = ev("x", "candidate.profile_updated", at(8, 1), candidate=BEN)  # served on day 6, occurs on day 8
    late = ev("x", "candidate.profile_updated", at(6, 5), candidate=BEN)  # served on day 7
    for day, rows in ((6, [early]), (7, [late]), (8, [])):
        commit_api_batch(lake, "marketplace", day, rows)
        commit_api_batch(lake, "gig", day, [])
    assert job.run(spark, settings, as_of(6)) == 0
    assert job.run(spark, settings, as_of(7)) == 0
    state = lake.get_json(layout.state_commit_ref(lake, as_of(7)))
    assert state["computation"]["mode"] == "incremental" and state["computation"]["newly_known_rows"] == 1

    assert job.run(spark, settings, as_of(8), "incremental") == job.EXIT_INCREMENTAL_IMPOSSIBLE
    assert "de-duplication conflict" in capsys.readouterr().err
    assert job.run(spark, settings, as_of(8)) == 0
    computation = lake.get_json(layout.curated_manifest_ref(lake, "candidate_signals", as_of(8)))["computation"]
    assert computation["mode"] == "full" and "marketplace/x" in computation["reason"]
    ben = {r["signal"]: r for r in curated_rows(lake, "candidate_signals", as_of(8)) if r["candidate_ref"] == BEN}
    # the winning delivery is the day-6 one: last activity at day 8 01:00, a day minus an hour before the end
    assert ben["days_since_last_activity"]["value"] == pytest.approx(23 / 24)
