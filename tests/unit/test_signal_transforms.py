"""The candidate-signal transforms on tiny hand-built raw-event frames (one local[1] SparkSession)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pyarrow as pa
import pytest

from hiring_signals.contract.curated_schema import CURATED_SCHEMAS, FEATURE_VERSION, SIGNAL_NAMES
from hiring_signals.contract.raw_schema import raw_event_column_names, raw_event_spark_ddl
from spark_jobs.candidate_signals import transforms as t
from spark_jobs.candidate_signals.job import to_table
from spark_jobs.io.s3_arrow_source import S3Object, pack_files, source_options

pytestmark = pytest.mark.spark

T0 = datetime(2026, 5, 1, tzinfo=timezone.utc)
ADA, BEN, CARA = "cand_" + "a" * 32, "cand_" + "b" * 32, "cand_" + "c" * 32


def at(day: float, hour: int = 0) -> datetime:
    return T0 + timedelta(days=day, hours=hour)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def ev(event_id: str, event_type: str, occurred: datetime, *, ingested: datetime | None = None,
       candidate: str | None = ADA, engagement: str | None = None, employer: str | None = None,
       payload: dict | None = None, source: str = "marketplace", batch: str | None = None) -> dict:
    """One raw-zone row; by default ingested at the end of the UTC day it occurred on."""
    if ingested is None:
        ingested = datetime.combine(occurred.date() + timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc)
    return {
        "event_id": event_id, "source": source, "source_tenant": "tenant", "event_type": event_type,
        "event_version": 1, "occurred_at": occurred, "source_updated_at": occurred, "ingested_at": ingested,
        "candidate_ref": candidate, "employer_ref": employer, "engagement_ref": engagement, "remote_id": event_id,
        "payload": json.dumps(payload or {}, sort_keys=True), "batch_id": batch or f"{source}/{ingested:%Y%m%d}",
    }


@pytest.fixture(scope="session")
def spark():
    from spark_jobs.session import TINY_DATA_CONF, build_session

    # getOrCreate: the Spark integration tests in the same pytest process reuse this session.
    return build_session("hs-tests", "local[1]", shuffle_partitions=1, extra_conf=TINY_DATA_CONF)


@pytest.fixture
def frame(spark):
    def make(rows: list[dict]):
        names = raw_event_column_names()
        return spark.createDataFrame([tuple(r.get(n) for n in names) for r in rows], raw_event_spark_ddl())
    return make


def rows(df) -> list[dict]:
    """Collected through Arrow, so timestamps come back as tz-aware UTC datetimes."""
    return df.toArrow().to_pylist()


def signals_by_candidate(df) -> dict[str, dict[str, tuple]]:
    out: dict[str, dict[str, tuple]] = {}
    for r in rows(df):
        out.setdefault(r["candidate_ref"], {})[r["signal"]] = (r["value"], r["evidence_count"])
    return out


def known(events, as_of_end: datetime):
    return t.dedupe_events(t.known_as_of(events, as_of_end))


# --- knowledge time and de-duplication ------------------------------------------------------------------

def test_dedupe_keeps_the_earliest_ingested_delivery_per_source_and_event_id(frame):
    events = frame([
        ev("e1", "candidate.profile_updated", at(1, 10), ingested=at(3), batch="marketplace/late"),
        ev("e1", "candidate.profile_updated", at(1, 10), ingested=at(2), batch="marketplace/first"),
        ev("e1", "candidate.profile_updated", at(1, 10), source="gig", ingested=at(4)),  # other source: own event
        ev("e2", "candidate.profile_updated", at(1, 11), ingested=at(2), batch="marketplace/b"),
        ev("e2", "candidate.profile_updated", at(1, 11), ingested=at(2), batch="marketplace/a"),  # tie -> batch_id
    ])
    kept = sorted((r["source"], r["event_id"], r["batch_id"]) for r in rows(t.dedupe_events(events)))
    assert kept == [("gig", "e1", "gig/20260505"), ("marketplace", "e1", "marketplace/first"),
                    ("marketplace", "e2", "marketplace/a")]


def test_known_as_of_is_bitemporal(frame):
    end = at(10)
    events = frame([
        ev("before", "candidate.profile_updated", at(9, 12), ingested=at(10)),  # ingested exactly at the end
        ev("late", "candidate.profile_updated", at(5), ingested=at(14)),  # occurred before, learned after
        ev("at_end", "candidate.profile_updated", at(10), ingested=at(10)),  # occurred at the end: not before it
        ev("future", "candidate.profile_updated", at(11), ingested=at(12)),
    ])
    assert sorted(r["event_id"] for r in rows(t.known_as_of(events, end))) == ["before"]
    with pytest.raises(ValueError):
        t.known_as_of(events, datetime(2026, 5, 11))


# --- engagements ----------------------------------------------------------------------------------------

def engagement_story(eng: str = "marketplace:eng_1", candidate: str = ADA) -> list[dict]:
    """Posted, started, two deliverables (the second sent back and resubmitted late), completed, feedback."""
    employer = "marketplace:emp_1"
    kw = {"engagement": eng, "employer": employer, "candidate": candidate}
    d1_due, d2_due = at(5, 17), at(8, 17)
    return [
        ev(f"{eng}-post", "engagement.posted", at(0, 9), candidate=None, engagement=eng, employer=employer,
           payload={"title": "Churn analysis", "category": "data-analysis",
                    "deliverables": [{"deliverable_id": "d1", "due_at": iso(d1_due)}]}),
        ev(f"{eng}-start", "engagement.started", at(2, 9), **kw),
        ev(f"{eng}-sub1", "deliverable.submitted", d1_due, **kw,  # exactly at its due time: on time
           payload={"deliverable_id": "d1", "due_at": iso(d1_due), "submitted_at": iso(d1_due), "submission_round": 1}),
        ev(f"{eng}-sub2", "deliverable.submitted", at(7, 12), **kw, payload={
            "deliverable_id": "d2", "due_at": iso(d2_due), "submitted_at": iso(at(7, 12)), "submission_round": 1}),
        ev(f"{eng}-rev2", "deliverable.reviewed", at(8, 9), **kw,
           payload={"deliverable_id": "d2", "outcome": "changes_requested", "review_round": 1}),
        ev(f"{eng}-sub2b", "deliverable.submitted", at(9, 12), **kw, payload={  # resubmitted after the due date
            "deliverable_id": "d2", "due_at": iso(d2_due), "submitted_at": iso(at(9, 12)), "submission_round": 2}),
        ev(f"{eng}-done", "engagement.completed", at(10, 15), **kw, payload={"deliverables_approved": 2}),
        ev(f"{eng}-fb", "feedback.recorded", at(11, 10), **kw,
           payload={"rubric_id": "r", "rubric_version": 2, "would_rehire": True,
                    "scores": {"quality": 5, "communication": 4, "timeliness": 5, "skill_fit": 4}}),
    ]


def test_engagement_row_uses_first_submissions_and_posting(frame):
    events = frame(engagement_story())
    [row] = rows(t.engagements(known(events, at(20)), date(2026, 5, 20)))
    assert row == {
        "as_of_date": date(2026, 5, 20), "engagement_ref": "marketplace:eng_1", "candidate_ref": ADA,
        "employer_ref": "marketplace:emp_1", "source": "marketplace", "title": "Churn analysis",
        "category": "data-analysis", "posted_at": at(0, 9), "started_at": at(2, 9), "ended_at": at(10, 15),
        "status": "completed", "cancelled_by": None, "deliverables_submitted": 2, "deliverables_on_time": 2,
        "feedback_count": 1, "mean_rubric_score": 4.5,
    }


def test_engagement_status_over_time_and_cancellation(frame):
    kw = {"engagement": "marketplace:eng_2", "employer": "marketplace:emp_2", "candidate": BEN}
    events = frame([
        ev("s", "engagement.started", at(1, 9), **kw),
        ev("c", "engagement.cancelled", at(6, 9), **kw, payload={"cancelled_by": "candidate", "reason": "x"}),
    ])
    [early] = rows(t.engagements(known(events, at(3)), date(2026, 5, 3)))
    assert (early["status"], early["ended_at"], early["cancelled_by"]) == ("in_progress", None, None)
    assert (early["title"], early["posted_at"], early["mean_rubric_score"]) == (None, None, None)  # posting unknown
    [late] = rows(t.engagements(known(events, at(7)), date(2026, 5, 7)))
    assert (late["status"], late["ended_at"], late["cancelled_by"]) == ("cancelled", at(6, 9), "candidate")
    assert (late["deliverables_submitted"], late["feedback_count"]) == (0, 0)


def test_lifecycle_gap_end_without_known_start(frame):
    """A late engagement.started: the completion counts for the candidate, the engagement row waits."""
    kw = {"engagement": "marketplace:eng_3", "candidate": CARA}
    events = frame([
        ev("start", "engagement.started", at(1, 9), ingested=at(12), **kw),
        ev("done", "engagement.completed", at(8, 9), **kw),
    ])
    as_of = known(events, at(10))
    assert rows(t.engagements(as_of, date(2026, 5, 10))) == []
    signals = signals_by_candidate(t.candidate_signals(as_of, date(2026, 5, 10), at(10)))[CARA]
    assert signals["engagements_started"] == (0.0, 0)
    assert signals["engagements_completed"] == (1.0, 1)
    assert signals["completion_rate"] == (1.0, 1)


# --- candidate signals ----------------------------------------------------------------------------------

def test_every_known_candidate_gets_every_signal_and_counts_are_zero_not_null(frame):
    events = frame(engagement_story() + [
        ev("cara-profile", "candidate.profile_updated", at(1), candidate=CARA),
        ev("post-only", "engagement.posted", at(1), candidate=None, engagement="marketplace:eng_9",
           employer="marketplace:emp_9", payload={"title": "x"}),
    ])
    out = t.candidate_signals(known(events, at(20)), date(2026, 5, 20), at(20))
    got = rows(out)
    assert sorted({r["candidate_ref"] for r in got}) == [ADA, CARA]  # events without a candidate add nobody
    assert len(got) == 2 * len(SIGNAL_NAMES)
    assert all(r["feature_version"] == FEATURE_VERSION and r["window_days"] is None for r in got)
    assert all(r["as_of_date"] == date(2026, 5, 20) for r in got)
    cara = signals_by_candidate(out)[CARA]
    assert cara == {
        "engagements_started": (0.0, 0), "engagements_completed": (0.0, 0), "completion_rate": (None, 0),
        "on_time_delivery_rate": (None, 0), "mean_rubric_score": (None, 0), "active_verified_credentials": (0.0, 0),
    }
    ada = signals_by_candidate(out)[ADA]
    assert ada["engagements_started"] == (1.0, 1)
    assert ada["engagements_completed"] == (1.0, 1)
    assert ada["completion_rate"] == (1.0, 1)
    assert ada["on_time_delivery_rate"] == (1.0, 2)  # the late resubmission does not make d2 late
    assert ada["mean_rubric_score"] == (4.5, 1)


def test_no_ended_engagement_means_null_completion_rate(frame):
    kw = {"engagement": "marketplace:eng_4", "candidate": CARA}
    due = at(9, 17)
    events = frame([
        ev("start", "engagement.started", at(1, 9), **kw),
        ev("sub", "deliverable.submitted", at(9, 18), **kw,  # an hour late
           payload={"deliverable_id": "d", "due_at": iso(due), "submitted_at": iso(at(9, 18))}),
    ])
    cara = signals_by_candidate(t.candidate_signals(known(events, at(15)), date(2026, 5, 15), at(15)))[CARA]
    assert cara["engagements_started"] == (1.0, 1)
    assert cara["completion_rate"] == (None, 0)
    assert cara["on_time_delivery_rate"] == (0.0, 1)


def test_completion_rate_and_mean_rubric_across_engagements(frame):
    def fb(event_id, eng, scores):
        q, c, ti, s = scores
        return ev(event_id, "feedback.recorded", at(12), candidate=BEN, engagement=eng,
                  payload={"rubric_id": "r", "rubric_version": 2, "would_rehire": False,
                           "scores": {"quality": q, "communication": c, "timeliness": ti, "skill_fit": s}})
    events = frame([
        ev("s1", "engagement.started", at(1), candidate=BEN, engagement="m:e1"),
        ev("s2", "engagement.started", at(1), candidate=BEN, engagement="m:e2"),
        ev("s3", "engagement.started", at(1), candidate=BEN, engagement="m:e3"),
        ev("c1", "engagement.completed", at(5), candidate=BEN, engagement="m:e1"),
        ev("x2", "engagement.cancelled", at(5), candidate=BEN, engagement="m:e2", payload={"cancelled_by": "employer"}),
        ev("x2b", "engagement.completed", at(6), candidate=BEN, engagement="m:e2"),  # after the first end: ignored
        fb("f1", "m:e1", (3, 2, 2, 3)),
        fb("f2", "m:e2", (5, 5, 5, 4)),
    ])
    ben = signals_by_candidate(t.candidate_signals(known(events, at(20)), date(2026, 5, 20), at(20)))[BEN]
    assert ben["engagements_started"] == (3.0, 3)
    assert ben["engagements_completed"] == (1.0, 1)
    assert ben["completion_rate"] == (0.5, 2)
    assert ben["mean_rubric_score"] == (pytest.approx((2.5 + 4.75) / 2), 2)


def test_redelivered_event_is_counted_once(frame):
    story = engagement_story()
    feedback = next(e for e in story if e["event_id"].endswith("-fb"))
    redelivered = {**feedback, "ingested_at": at(15), "batch_id": "marketplace/20260516"}
    events = frame(story + [redelivered])
    ada = signals_by_candidate(t.candidate_signals(known(events, at(20)), date(2026, 5, 20), at(20)))[ADA]
    assert ada["mean_rubric_score"] == (4.5, 1)
    [row] = rows(t.candidates(known(events, at(20)), date(2026, 5, 20)))
    assert row["event_count"] == 7  # candidate events of the story, the redelivery not counted again


def test_late_feedback_does_not_leak_into_an_earlier_as_of_date(frame):
    """Dan's case: feedback occurred on day 13 but was ingested on day 25."""
    story = engagement_story(candidate=BEN)
    late = [{**e, "occurred_at": at(13, 10), "ingested_at": at(25)} if e["event_id"].endswith("-fb") else e
            for e in story]
    events = frame(late)
    early = signals_by_candidate(t.candidate_signals(known(events, at(24)), date(2026, 5, 24), at(24)))[BEN]
    assert early["mean_rubric_score"] == (None, 0)
    [eng] = rows(t.engagements(known(events, at(24)), date(2026, 5, 24)))
    assert (eng["feedback_count"], eng["mean_rubric_score"]) == (0, None)
    later = signals_by_candidate(t.candidate_signals(known(events, at(25)), date(2026, 5, 25), at(25)))[BEN]
    assert later["mean_rubric_score"] == (4.5, 1)


# --- credentials ----------------------------------------------------------------------------------------

def issued(event_id, credential, when, *, valid_from, valid_until=None, verification="verified", ingested=None):
    return ev(event_id, "credential.issued", when, candidate=CARA, ingested=ingested, payload={
        "credential_id": credential, "issuer": "i", "achievement": "a", "proof_type": "DataIntegrityProof",
        "valid_from": iso(valid_from), "valid_until": iso(valid_until) if valid_until else None,
        "verification_result": verification})


def status(event_id, credential, when, state, *, ingested=None, verification="verified"):
    return ev(event_id, "credential.status_changed", when, candidate=CARA, ingested=ingested, payload={
        "credential_id": credential, "status": state, "verification_result": verification})


def active_credentials(events, day: int) -> dict[str, bool]:
    return {r["credential_id"]: r["active"] for r in rows(t.credential_states(known(events, at(day)), at(day)))}


def test_credential_validity_verification_and_boundaries(frame):
    events = frame([
        issued("i1", "open", at(1), valid_from=at(-300)),
        issued("i2", "failed", at(1), valid_from=at(-10), verification="failed"),
        issued("i3", "expires", at(1), valid_from=at(-10), valid_until=at(15, 12)),
        issued("i4", "until_as_of", at(1), valid_from=at(-10), valid_until=at(20)),  # ends at the as-of instant
        issued("i5", "not_yet", at(1), valid_from=at(25)),
        issued("i6", "from_as_of", at(1), valid_from=at(20)),  # starts at the as-of instant
        issued("i7", "recheck_failed", at(1), valid_from=at(-10)),
        status("s7", "recheck_failed", at(5), "active", verification="failed"),
    ])
    assert active_credentials(events, 10) == {
        "open": True, "failed": False, "expires": True, "until_as_of": True, "not_yet": False,
        "from_as_of": False, "recheck_failed": False,
    }
    assert active_credentials(events, 20) == {
        "open": True, "failed": False, "expires": False, "until_as_of": False, "not_yet": False,
        "from_as_of": True, "recheck_failed": False,
    }
    cara = signals_by_candidate(t.candidate_signals(known(events, at(20)), date(2026, 5, 20), at(20)))[CARA]
    assert cara["active_verified_credentials"] == (2.0, 7)


def test_revocation_takes_effect_only_once_known(frame):
    events = frame([
        issued("i1", "cred", at(2), valid_from=at(2)),
        status("s1", "cred", at(12, 11), "revoked", ingested=at(14)),  # recorded two days later
        issued("i2", "cred2", at(2), valid_from=at(2)),
        status("s2", "cred2", at(5), "suspended"),
        status("s3", "cred2", at(9), "active"),  # the latest status wins
    ])
    assert active_credentials(events, 13) == {"cred": True, "cred2": True}  # revocation not known yet
    assert active_credentials(events, 14) == {"cred": False, "cred2": True}
    assert active_credentials(events, 7) == {"cred": True, "cred2": False}


# --- candidates and the output contract ------------------------------------------------------------------

def test_candidates_dataset(frame):
    events = frame([
        ev("a1", "candidate.profile_updated", at(3, 8)),
        ev("a2", "candidate.profile_updated", at(1, 8), source="gig"),
        ev("a3", "referral.made", at(7, 8)),
        ev("b1", "candidate.profile_updated", at(2, 8), candidate=BEN),
        ev("x", "engagement.posted", at(2, 9), candidate=None, engagement="m:e", employer="m:emp"),
    ])
    got = {r["candidate_ref"]: r for r in rows(t.candidates(known(events, at(10)), date(2026, 5, 10)))}
    assert got[ADA] == {"as_of_date": date(2026, 5, 10), "candidate_ref": ADA, "first_event_at": at(1, 8),
                        "last_event_at": at(7, 8), "event_count": 3, "sources": "gig,marketplace"}
    assert (got[BEN]["event_count"], got[BEN]["sources"]) == (1, "marketplace")


def test_outputs_match_the_curated_contract_exactly(frame):
    events = known(frame(engagement_story() + [issued("i", "c", at(1), valid_from=at(0))]), at(20))
    datasets = {
        "candidate_signals": t.candidate_signals(events, date(2026, 5, 20), at(20)),
        "engagements": t.engagements(events, date(2026, 5, 20)),
        "candidates": t.candidates(events, date(2026, 5, 20)),
    }
    for name, df in datasets.items():
        table = to_table(df, name)
        assert table.schema == CURATED_SCHEMAS[name], name
        assert table.num_rows > 0
    signals = to_table(datasets["candidate_signals"], "candidate_signals").to_pylist()
    keys = [(r["candidate_ref"], r["signal"]) for r in signals]
    assert keys == sorted(keys)


def test_payload_parsing_tolerates_missing_and_malformed_fields(frame):
    kw = {"engagement": "m:e", "candidate": ADA}
    events = frame([
        ev("s", "engagement.started", at(1), **kw),
        ev("sub", "deliverable.submitted", at(2), **kw, payload={"deliverable_id": "d", "due_at": "not a time"}),
        ev("fb", "feedback.recorded", at(3), **kw, payload={"scores": {"quality": 5}}),  # incomplete rubric
    ])
    ada = signals_by_candidate(t.candidate_signals(known(events, at(10)), date(2026, 5, 10), at(10)))[ADA]
    assert ada["on_time_delivery_rate"] == (None, 0)
    assert ada["mean_rubric_score"] == (None, 0)


# --- the S3 data source's pure parts ---------------------------------------------------------------------

def test_files_are_packed_into_partitions_by_size():
    objects = [S3Object(f"b/k{i}", size) for i, size in enumerate([40, 50, 30, 200, 10, 10])]
    assert pack_files(objects, 100) == [("b/k0", "b/k1"), ("b/k2",), ("b/k3",), ("b/k4", "b/k5")]
    assert pack_files([], 100) == []


def test_source_options_are_plain_strings_and_reject_unknown_keys():
    options = source_options({"endpoint_override": "127.0.0.1:9", "scheme": "http", "region": "us-east-1"},
                             [S3Object("b/k", 12)], max_partition_bytes=1000)
    assert all(isinstance(v, str) for v in options.values())
    assert json.loads(options["objects"]) == [["b/k", 12]]
    with pytest.raises(ValueError):
        source_options({"endpoint": "x"}, [])


def test_arrow_batches_are_conformed_to_the_spark_schema(spark):
    from pyspark.sql.pandas.types import to_arrow_schema

    from hiring_signals.contract.raw_schema import raw_event_arrow_schema
    from spark_jobs.io.s3_arrow_source import _conform

    target = to_arrow_schema(spark.createDataFrame([], raw_event_spark_ddl()).schema, timezone="UTC")
    written = raw_event_arrow_schema()
    reordered = pa.schema([written.field(n).with_nullable(True) for n in reversed(written.names)])
    batch = pa.RecordBatch.from_pylist([ev("e", "x", at(1))], schema=reordered)
    assert _conform(batch, target).schema == target
