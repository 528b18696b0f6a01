"""The candidate-signal transforms on tiny hand-built raw-event frames (one local[1] SparkSession)."""

from __future__ import annotations

import json
from datetime import date, datetime

import pyarrow as pa
import pytest
from pyspark.sql import functions as F

from hiring_signals.contract.curated_schema import (
    CURATED_SCHEMAS,
    FEATURE_VERSION,
    RUBRIC_VERSION,
    SCORE_COMPONENTS,
    SIGNAL_NAMES,
    SIGNALS,
)
from hiring_signals.contract.vocabulary import VOCABULARY_VERSION, normalise_skill
from hiring_signals.contract.raw_schema import raw_event_spark_ddl
from spark_jobs.candidate_signals import transforms as t
from spark_jobs.candidate_signals.job import to_table
from spark_jobs.io.s3_arrow_source import S3Object, pack_files, source_options
from tests.raw_rows import ADA, BEN, CARA, DAN, T0, at, ev, iso

pytestmark = pytest.mark.spark


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
           payload={"title": "Churn analysis", "category": "data-analysis", "skills": [" Python 3", "SQL", "COBOL"],
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
        "feedback_count": 1, "mean_rubric_score": 4.5, "skills": "python,sql",  # COBOL is not in the vocabulary
    }


def test_engagement_status_over_time_and_cancellation(frame):
    kw = {"engagement": "marketplace:eng_2", "employer": "marketplace:emp_2", "candidate": BEN}
    events = frame([
        ev("s", "engagement.started", at(1, 9), **kw),
        ev("c", "engagement.cancelled", at(6, 9), **kw, payload={"cancelled_by": "candidate", "reason": "x"}),
    ])
    [early] = rows(t.engagements(known(events, at(3)), date(2026, 5, 3)))
    assert (early["status"], early["ended_at"], early["cancelled_by"]) == ("in_progress", None, None)
    assert (early["title"], early["posted_at"], early["mean_rubric_score"], early["skills"]) == (None,) * 4  # no posting
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
    assert all((r["feature_version"], r["vocabulary_version"], r["rubric_version"])
               == (FEATURE_VERSION, VOCABULARY_VERSION, RUBRIC_VERSION) for r in got)
    assert all(r["window_days"] == (90 if r["signal"] == "active_weeks_90d" else None) for r in got)
    assert all(r["as_of_date"] == date(2026, 5, 20) and r["reason"] for r in got)
    cara = signals_by_candidate(out)[CARA]
    time_relative = {"days_since_last_activity": (19.0, 1), "active_weeks_90d": (1.0, 1)}  # her profile update
    assert {k: v for k, v in cara.items() if k not in time_relative and k != "signal_score"} == {
        s.name: ((0.0 if s.unit == "count" else None), 0)
        for s in SIGNALS if s.name not in time_relative and s.name != "signal_score"
    }
    assert {k: cara[k] for k in time_relative} == time_relative
    assert cara["signal_score"][1] == 1  # only the activity component has evidence; the rest sit at their prior
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


# --- engagement scope across sources ---------------------------------------------------------------------

def test_gig_engagements_take_their_scope_from_the_contract_offer(frame):
    """The gig platform posts nothing: its contract offer (application.decided) carries title, category and
    skills. A posting wins over a decision when both exist; posted_at comes from the posting only."""
    gig = {"engagement": "gig:ct_1", "employer": "gig:cl_1", "candidate": BEN, "source": "gig"}
    mp = {"engagement": "marketplace:eng_7", "employer": "marketplace:emp_7", "candidate": BEN}
    events = frame([
        ev("contract:ct_1:r1", "application.decided", at(1, 9), **gig, payload={
            "application_id": "pr_1", "decision": "selected", "title": "Landing page rebuild", "category": "web-dev",
            "skills": ["JavaScript", " react.js ", "COBOL"]}),
        ev("contract:ct_1:r2", "engagement.started", at(2, 9), **gig),
        ev("contract:ct_1:r3", "engagement.completed", at(6, 9), **gig),
        ev("mp-decided", "application.decided", at(0, 9), **mp,
           payload={"application_id": "a", "decision": "selected", "title": "A title from the decision"}),
        ev("mp-post", "engagement.posted", at(0, 10), candidate=None, engagement=mp["engagement"],
           employer=mp["employer"], payload={"title": "Posted title", "category": "ops", "skills": ["Airtable"]}),
        ev("mp-start", "engagement.started", at(2, 9), **mp),
    ])
    got = {r["engagement_ref"]: r for r in rows(t.engagements(known(events, at(10)), date(2026, 5, 10)))}
    g, m = got["gig:ct_1"], got["marketplace:eng_7"]
    assert (g["title"], g["category"], g["skills"], g["employer_ref"], g["posted_at"], g["source"], g["status"]) == (
        "Landing page rebuild", "web-dev", "javascript,react", "gig:cl_1", None, "gig", "completed")
    assert (m["title"], m["category"], m["skills"], m["posted_at"]) == ("Posted title", "ops", "airtable", at(0, 10))
    # the completed gig contract is work evidence for the candidate's skills
    ben = signals_by_candidate(t.candidate_signals(known(events, at(10)), date(2026, 5, 10), at(10)))[BEN]
    assert ben["skill_breadth"] == (2.0, 1)


# --- delivery and lifecycle signals ---------------------------------------------------------------------

def test_cancellation_lateness_and_first_pass_approval(frame):
    def eng(n):
        return {"engagement": f"m:e{n}", "employer": f"m:emp{n}", "candidate": BEN}

    def sub(event_id, n, deliverable, due, submitted):
        return ev(event_id, "deliverable.submitted", submitted, **eng(n), payload={
            "deliverable_id": deliverable, "due_at": iso(due), "submitted_at": iso(submitted)})

    def review(event_id, n, deliverable, when, outcome, round_):
        return ev(event_id, "deliverable.reviewed", when, **eng(n),
                  payload={"deliverable_id": deliverable, "outcome": outcome, "review_round": round_})

    events = frame([
        *[ev(f"s{n}", "engagement.started", at(1), **eng(n)) for n in (1, 2, 3)],
        ev("x1", "engagement.cancelled", at(8), **eng(1), payload={"cancelled_by": "candidate"}),
        ev("x2", "engagement.cancelled", at(8), **eng(2), payload={"cancelled_by": "employer"}),
        ev("c3", "engagement.completed", at(9), **eng(3)),
        sub("d1", 3, "d1", at(5, 17), at(6, 5)),  # 0.5 days late
        sub("d2", 3, "d2", at(5, 17), at(7, 17)),  # 2 days late
        sub("d3", 3, "d3", at(5, 17), at(5, 9)),  # on time
        sub("d4", 3, "d4", at(5, 17), at(5, 23)),  # 0.25 days late
        review("r1a", 3, "d1", at(7), "changes_requested", 1),
        review("r1b", 3, "d1", at(8), "approved", 2),  # approved, but not at the first pass
        review("r2", 3, "d2", at(8), "approved", 1),
        review("r3b", 3, "d3", at(5, 20), "rejected", 2),  # a later round does not undo the first-pass approval
        review("r3a", 3, "d3", at(5, 12), "approved", 1),
    ])
    ben = signals_by_candidate(t.candidate_signals(known(events, at(10)), date(2026, 5, 10), at(10)))[BEN]
    assert ben["completion_rate"] == (pytest.approx(1 / 3), 3)
    assert ben["cancellation_rate"] == (pytest.approx(1 / 3), 3)  # only the candidate's own cancellation
    assert ben["on_time_delivery_rate"] == (0.25, 4)
    assert ben["median_days_late"] == (0.5, 3)  # median of 0.5, 2 and 0.25 days
    assert ben["first_pass_approval_rate"] == (pytest.approx(2 / 3), 3)  # d4 is not reviewed yet


# --- mentor feedback: recency weighting and shrinkage ----------------------------------------------------

def feedback(event_id, candidate, when, scores, would_rehire=True, rubric=("mp-mentor-rubric", 2), ingested=None):
    q, c, ti, s = scores
    return ev(event_id, "feedback.recorded", when, candidate=candidate, engagement=f"m:e-{event_id}",
              ingested=ingested, payload={"rubric_id": rubric[0], "rubric_version": rubric[1],
                                          "would_rehire": would_rehire,
                                          "scores": {"quality": q, "communication": c, "timeliness": ti, "skill_fit": s}})


def shrunk(reviews: list[tuple[float, int]], population_mean: float, half_life: float = 180.0,
           prior_weight: float = 5.0) -> float:
    """The documented formula, independently: reviews are (age in days, score)."""
    weights = [round(0.5 ** (age / half_life) * 1e9) for age, _ in reviews]  # quantised as in the job
    weighted = sum(w * score for w, (_, score) in zip(weights, reviews)) / 1e9
    return (weighted + prior_weight * population_mean) / (sum(weights) / 1e9 + prior_weight)


def test_three_perfect_reviews_do_not_outrank_thirty_at_4_8(frame):
    """Ada: three 5/5 reviews. Ben: thirty reviews averaging 4.8 (24 fives, 6 fours). Cara: twenty 3/5 reviews
    that, with theirs, make the population mean. All given on the same day, so recency weights are equal."""
    given = at(20)
    events = frame(
        [feedback(f"a{i}", ADA, given, (5, 5, 5, 5)) for i in range(3)]
        + [feedback(f"b{i}", BEN, given, (5, 5, 5, 5) if i < 24 else (4, 4, 4, 4)) for i in range(30)]
        + [feedback(f"c{i}", CARA, given, (3, 3, 3, 3), would_rehire=False) for i in range(20)]
    )
    got = signals_by_candidate(t.candidate_signals(known(events, at(30)), date(2026, 5, 30), at(30)))
    ada, ben = got[ADA], got[BEN]
    assert ada["mean_rubric_score"] == (5.0, 3) and ben["mean_rubric_score"] == (pytest.approx(4.8), 30)  # raw
    mu = (3 * 5 + 24 * 5 + 6 * 4 + 20 * 3) / 53
    for d in ("quality", "communication", "timeliness", "skill_fit"):
        assert ada[f"rubric_{d}"] == (pytest.approx(shrunk([(10, 5)] * 3, mu), rel=1e-12), 3)
        assert ben[f"rubric_{d}"] == (pytest.approx(shrunk([(10, 5)] * 24 + [(10, 4)] * 6, mu), rel=1e-12), 30)
        assert ben[f"rubric_{d}"][0] > ada[f"rubric_{d}"][0]
    assert ben["signal_score"][0] > ada["signal_score"][0]
    assert ada["would_rehire_rate"] == (1.0, 3) and got[CARA]["would_rehire_rate"] == (0.0, 20)


def test_shrunk_rubric_stays_inside_the_rubric_range(frame):
    """One 5/5 review two days old in an all-5 population: the formula's floating-point result is
    5.000000000000001 (the independent `shrunk` shows it), which the catalog range 1-5 and the marts gate reject."""
    assert shrunk([(2, 5)], 5.0) > 5.0  # the overshoot this guards against
    events = frame([feedback("a0", ADA, at(28), (5, 5, 5, 5))])
    ada = signals_by_candidate(t.candidate_signals(known(events, at(30)), date(2026, 5, 30), at(30)))[ADA]
    for d in ("quality", "communication", "timeliness", "skill_fit"):
        assert ada[f"rubric_{d}"] == (5.0, 1)


def test_recency_weighting_follows_the_configured_half_life(frame):
    """A year-old 2 and a fresh 5: with a 180-day half-life the old review counts about a quarter."""
    events = frame([
        feedback("old", DAN, at(-335), (2, 2, 2, 2)),
        feedback("new", DAN, at(29, 12), (5, 5, 5, 5)),
        feedback("other", ADA, at(29, 12), (4, 4, 4, 4)),
    ])
    as_of = known(events, at(30))
    mu = (2 + 5 + 4) / 3
    default = signals_by_candidate(t.candidate_signals(as_of, date(2026, 5, 30), at(30)))[DAN]
    assert default["rubric_quality"][0] == pytest.approx(shrunk([(365, 2), (0.5, 5)], mu), rel=1e-12)
    flat = signals_by_candidate(t.candidate_signals(as_of, date(2026, 5, 30), at(30),
                                                    t.SignalParams(half_life_days=1e9)))[DAN]
    assert flat["rubric_quality"][0] == pytest.approx((2 + 5 + 5 * mu) / (2 + 5), rel=1e-6)  # weights ~1
    assert default["rubric_quality"][0] > flat["rubric_quality"][0]  # the recent 5 dominates
    assert default["mean_rubric_score"] == flat["mean_rubric_score"] == (3.5, 2)  # unweighted, unshrunk
    [row] = [r for r in rows(t.candidate_signals(as_of, date(2026, 5, 30), at(30)))
             if r["candidate_ref"] == DAN and r["signal"] == "rubric_quality"]
    explained = json.loads(row["explanation"])
    assert explained["prior_mean"] == pytest.approx(mu, abs=1e-6) and explained["prior_weight"] == 5.0
    assert explained["half_life_days"] == 180.0 and explained["rubrics"] == ["mp-mentor-rubric@2"]
    assert "half-life 180 days" in row["reason"]


# --- impact, credentials and skills ----------------------------------------------------------------------

def test_measured_impact_counts_each_metric_once_at_its_latest_measurement(frame):
    def outcome(event_id, deliverable, metric, baseline, result, when):
        return ev(event_id, "outcome.measured", when, engagement="m:e1", payload={
            "deliverable_id": deliverable, "metric": metric, "baseline": baseline, "result": result, "unit": "u"})
    events = frame([
        outcome("o1", "d1", "report_prep_hours", 20, 6, at(5)),  # 0.7 ...
        outcome("o1b", "d1", "report_prep_hours", 20, 5, at(8)),  # ... re-measured: 0.75
        outcome("o2", "d2", "weekly_users", 0, 10, at(6)),  # from nothing: 1.0
        outcome("o3", "d3", "defects", 0, 0, at(6)),  # no change: 0
    ])
    ada = signals_by_candidate(t.candidate_signals(known(events, at(10)), date(2026, 5, 10), at(10)))[ADA]
    assert ada["impact_outcomes"] == (3.0, 3)
    assert ada["impact_size"] == (pytest.approx((0.75 + 1 + 0) / 3, rel=1e-12), 3)


def test_credential_and_work_skills_on_the_vocabulary(frame):
    done = {"engagement": "m:done", "candidate": CARA}
    open_ = {"engagement": "m:open", "candidate": CARA}

    def credential(event_id, credential_id, skills, verification="verified"):
        return ev(event_id, "credential.issued", at(1), candidate=CARA, payload={
            "credential_id": credential_id, "issuer": "i", "achievement": "a", "proof_type": "p",
            "valid_from": iso(at(0)), "valid_until": None, "verification_result": verification, "skills": skills})
    events = frame([
        ev("post-done", "engagement.posted", at(0), candidate=None, engagement="m:done",
           payload={"title": "t", "skills": ["Python 3", "SQL", "Basket weaving"]}),
        ev("post-open", "engagement.posted", at(0), candidate=None, engagement="m:open",
           payload={"title": "t", "skills": ["Figma"]}),
        ev("s1", "engagement.started", at(1), **done), ev("c1", "engagement.completed", at(4), **done),
        ev("s2", "engagement.started", at(2), **open_),  # in progress: not evidence yet
        credential("i1", "active", ["sql", "  Statistics "]),
        credential("i2", "revoked", ["Figma"]),
        ev("x2", "credential.status_changed", at(3), candidate=CARA,
           payload={"credential_id": "revoked", "status": "revoked", "verification_result": "verified"}),
        credential("i3", "unverified", ["Tableau"], verification="failed"),
    ])
    out = t.candidate_signals(known(events, at(10)), date(2026, 5, 10), at(10))
    cara = signals_by_candidate(out)[CARA]
    assert cara["active_verified_credentials"] == (1.0, 3)
    assert cara["credential_skills"] == (2.0, 1)
    assert cara["skill_breadth"] == (3.0, 2)  # python, sql, statistics: 1 completed engagement + 1 credential
    assert cara["skills_work_and_credential"] == (1.0, 2)  # sql
    explanations = {r["signal"]: json.loads(r["explanation"]) for r in rows(out)
                    if r["candidate_ref"] == CARA and r["explanation"]}
    assert explanations["skill_breadth"] == {"skills": ["python", "sql", "statistics"], "work": ["python", "sql"],
                                             "credentials": ["sql", "statistics"]}
    assert explanations["skills_work_and_credential"] == {"skills": ["sql"]}


def test_skill_normalisation_matches_the_python_vocabulary(spark):
    names = ["  Python   3 ", "MS\tExcel", "HTML/CSS", "react.js", "Basket weaving", "SQL"]
    df = spark.createDataFrame([(names,)], "names ARRAY<STRING>")
    [row] = df.select(F.transform("names", t.normalised_skill).alias("n"), t.vocabulary_skills(F.col("names")).alias("v")
                      ).collect()
    assert row["n"] == [normalise_skill(n) for n in names]
    assert row["v"] == ["html-css", "python", "react", "spreadsheets", "sql"]


# --- repeat engagement, referrals, offers, placements ----------------------------------------------------

def test_repeat_employers_referrals_offers_and_placements(frame):
    def started(n, employer):
        return ev(f"s{n}", "engagement.started", at(n), engagement=f"m:e{n}", employer=employer)

    def offer(event_id, type_, offer_id, **extra):
        return ev(event_id, type_, at(9), employer="m:emp1", payload={"offer_id": offer_id, **extra})
    events = frame([
        started(1, "m:emp1"), started(2, "m:emp1"), started(3, "m:emp2"),
        ev("c4", "engagement.completed", at(4), engagement="m:e4", employer="m:emp3"),  # start unknown: no employer
        ev("ref1", "referral.made", at(5), payload={"referred_candidate_ref": BEN}),
        ev("ref2", "referral.made", at(5), payload={"referred_candidate_ref": "cand_" + "f" * 32}),  # not known
        ev("ben", "candidate.profile_updated", at(5), candidate=BEN),
        offer("o1", "offer.extended", "ofr_1", employment_type="full_time", is_conversion=True),
        offer("o1-again", "offer.extended", "ofr_1", employment_type="full_time", is_conversion=True),  # re-sent
        offer("o2", "offer.extended", "ofr_2", employment_type="contract", is_conversion=False),
        offer("a1", "offer.accepted", "ofr_1"),
        ev("p1", "placement.started", at(6), engagement="recruiter:acme:p1", payload={"placement_id": "p1"}),
        ev("p1x", "placement.fell_off", at(8), engagement="recruiter:acme:p1", payload={"placement_id": "p1"}),
        ev("p2", "placement.started", at(7), engagement="recruiter:acme:p2", payload={"placement_id": "p2"}),
    ])
    out = t.candidate_signals(known(events, at(10)), date(2026, 5, 10), at(10))
    got = signals_by_candidate(out)
    ada = got[ADA]
    assert ada["repeat_engagement_rate"] == (0.5, 2)  # emp1 engaged twice, emp2 once
    assert (ada["referrals_made"], got[BEN]["referrals_received"]) == ((2.0, 2), (1.0, 1))
    assert set(got) == {ADA, BEN}  # a referral names a person; it does not make them a candidate
    assert (ada["offers_extended"], ada["offers_accepted"]) == ((2.0, 2), (1.0, 1))
    assert (ada["placements_started"], ada["placements_fell_off"]) == ((2.0, 2), (1.0, 1))
    [extended] = [r for r in rows(out) if r["candidate_ref"] == ADA and r["signal"] == "offers_extended"]
    assert json.loads(extended["explanation"]) == {"conversions": 1}


# --- activity and responsiveness -------------------------------------------------------------------------

def test_activity_recency_weeks_and_response_time(frame):
    end = at(100)

    def applied(event_id, when, invited):
        return ev(event_id, "application.submitted", when, candidate=CARA, engagement=f"m:{event_id}",
                  payload={"application_id": event_id, "invited_at": iso(invited)})
    events = frame([
        ev("profile", "candidate.profile_updated", at(99, 12), candidate=CARA),  # 0.5 days before: week 0
        applied("app1", at(93), invited=at(92, 18)),  # exactly 7 days before: week 1; answered in 6 hours
        applied("app2", at(50), invited=at(49)),  # week 7; 24 hours
        applied("app3", at(93, 1), invited=at(94)),  # invited after applying: no response time
        ev("sub", "deliverable.submitted", at(10), candidate=CARA, engagement="m:x",  # exactly 90 days: week 12
           payload={"deliverable_id": "d", "due_at": iso(at(11)), "submitted_at": iso(at(10))}),
        ev("start", "engagement.started", at(9, 23), candidate=CARA, engagement="m:x"),  # outside the 90 days
        ev("recheck", "credential.status_changed", at(99, 20), candidate=CARA,  # the issuer's, not her activity
           payload={"credential_id": "c", "status": "active"}),
    ])
    out = t.candidate_signals(known(events, end), date(2026, 8, 8), end)
    cara = signals_by_candidate(out)[CARA]
    assert cara["days_since_last_activity"] == (0.5, 6)
    assert cara["active_weeks_90d"] == (4.0, 5)  # weeks 0, 1, 7 and 12 from five events inside the window
    assert cara["median_response_hours"] == (15.0, 2)  # median of 6 and 24 hours
    [weeks] = [r for r in rows(out) if r["candidate_ref"] == CARA and r["signal"] == "active_weeks_90d"]
    assert weeks["window_days"] == 90


# --- the composite ---------------------------------------------------------------------------------------

def test_composite_score_is_the_documented_weighted_sum_and_explains_itself(frame):
    story = engagement_story() + [
        issued("cred", "c1", at(1), valid_from=at(0)) | {"candidate_ref": ADA},
        ev("rv1", "deliverable.reviewed", at(6), engagement="marketplace:eng_1",
           payload={"deliverable_id": "d1", "outcome": "approved", "review_round": 1}),
    ]
    out = t.candidate_signals(known(frame(story), at(20)), date(2026, 5, 20), at(20))
    ada = signals_by_candidate(out)[ADA]
    [row] = [r for r in rows(out) if r["candidate_ref"] == ADA and r["signal"] == "signal_score"]
    parts = json.loads(row["explanation"])
    assert list(parts) == [c.name for c in SCORE_COMPONENTS]
    assert {k: v["weight"] for k, v in parts.items()} == {c.name: float(c.weight) for c in SCORE_COMPONENTS}
    # the only feedback is Ada's own, so the population mean is hers and shrinking changes nothing: 4.5 of 5
    expected = {
        "quality": (4.5 - 1) / 4,
        "delivery": (2 + 1) / (2 + 2),  # 2 of 2 on time, smoothed with 2 pseudo-deliverables at 0.5
        "completion": (1 + 1) / (1 + 2),
        "first_pass": (1 + 1) / (2 + 2),  # d1 approved at its first review, d2 sent back: 1 of 2
        "rehire": (1 + 1) / (1 + 2),
        "credentials": 1 / 3,
        "impact": 0.0,
        "activity": 2 / 13,  # active in the weeks 9-10 and 17-18 days before the as-of end
    }
    for name, normalised in expected.items():
        assert parts[name]["normalised"] == pytest.approx(normalised, abs=1e-6), name
        assert parts[name]["points"] == pytest.approx(parts[name]["weight"] * normalised, abs=1e-5), name
    score = sum(c.weight * expected[c.name] for c in SCORE_COMPONENTS)
    assert ada["signal_score"] == (pytest.approx(score, rel=1e-12), 7)  # every component but impact has evidence
    assert sum(p["points"] for p in parts.values()) == pytest.approx(score, abs=1e-5)
    assert parts["delivery"] == {"signal": "on_time_delivery_rate", "value": 1.0, "evidence": 2, "normalised": 0.75,
                                 "weight": 20.0, "points": 15.0}
    assert row["reason"].startswith(f"Score {score:.1f} of 100 from 7 of 8 components with evidence")
    assert "Strongest: quality 21.9 of 25 points, delivery 15.0 of 20" in row["reason"]
    assert "Weakest: credentials 3.3 of 10" in row["reason"]


def test_composite_without_any_evidence_sits_at_the_priors(frame):
    events = frame([ev("x", "credential.status_changed", at(1), candidate=CARA, payload={"credential_id": "c"})])
    cara = signals_by_candidate(t.candidate_signals(known(events, at(10)), date(2026, 5, 10), at(10)))[CARA]
    # no feedback anywhere: quality at mid-scale 3/5 (0.5); rates at 0.5; credentials, impact, activity at 0
    assert cara["signal_score"] == (25 * 0.5 + 20 * 0.5 + 15 * 0.5 + 10 * 0.5 + 10 * 0.5, 0)


# --- point in time ---------------------------------------------------------------------------------------

def history_with_late_knowledge() -> list[dict]:
    """Ada's history where several facts reach us late, and a credential is revoked after day 10."""
    kw = {"engagement": "m:e1", "employer": "m:emp1"}
    return [
        ev("start", "engagement.started", at(1), **kw),
        ev("d1", "deliverable.submitted", at(3), **kw,
           payload={"deliverable_id": "d1", "due_at": iso(at(4)), "submitted_at": iso(at(3))}),
        # occurred before day 10, ingested after it: a late deliverable, late feedback, a late outcome, a late offer
        ev("d2", "deliverable.submitted", at(5), ingested=at(15), **kw,
           payload={"deliverable_id": "d2", "due_at": iso(at(4)), "submitted_at": iso(at(5))}),
        feedback("fb", ADA, at(6), (2, 2, 2, 2), would_rehire=False, ingested=at(16)) | kw,
        ev("kpi", "outcome.measured", at(7), ingested=at(14), **kw, payload={
            "deliverable_id": "d1", "metric": "m", "baseline": 10, "result": 5, "unit": "u"}),
        ev("offer", "offer.extended", at(8), ingested=at(13), employer="m:emp1",
           payload={"offer_id": "o", "employment_type": "full_time", "is_conversion": True}),
        ev("cred", "credential.issued", at(2), payload={
            "credential_id": "c", "issuer": "i", "achievement": "a", "proof_type": "p", "valid_from": iso(at(2)),
            "valid_until": None, "verification_result": "verified", "skills": ["SQL"]}),
        # revoked on day 12, after the earlier as-of date
        ev("revoke", "credential.status_changed", at(12), payload={
            "credential_id": "c", "status": "revoked", "verification_result": "verified"}),
        ev("other", "feedback.recorded", at(4), candidate=BEN, engagement="m:b1", payload={
            "rubric_id": "r", "rubric_version": 1, "would_rehire": True,
            "scores": {"quality": 5, "communication": 5, "timeliness": 5, "skill_fit": 5}}),
    ]


def test_late_events_and_a_later_revocation_do_not_leak_into_an_earlier_as_of_date(frame):
    history = history_with_late_knowledge()
    everything = frame(history)
    day10 = at(10)
    # the trap is real: everything below occurred before day 10, and a filter on occurrence alone would see it
    occurred_before = {r["event_id"] for r in history if r["occurred_at"] < day10}
    known_by_then = {r["event_id"] for r in rows(known(everything, day10))}
    assert occurred_before - known_by_then == {"d2", "fb", "kpi", "offer"}

    early = t.candidate_signals(known(everything, day10), date(2026, 5, 10), day10)
    ada = signals_by_candidate(early)[ADA]
    assert ada["on_time_delivery_rate"] == (1.0, 1) and ada["median_days_late"] == (None, 0)
    assert ada["mean_rubric_score"] == (None, 0) and ada["rubric_quality"] == (None, 0)
    assert ada["would_rehire_rate"] == (None, 0)
    assert ada["impact_outcomes"] == (0.0, 0) and ada["offers_extended"] == (0.0, 0)
    assert ada["active_verified_credentials"] == (1.0, 1) and ada["credential_skills"] == (1.0, 1)  # not revoked yet
    assert signals_by_candidate(early)[BEN]["rubric_quality"] == (5.0, 1)  # the prior is what was known too

    # the strongest form: as of day 10, the full history gives exactly what the history as it stood then gives
    as_it_stood = frame([r for r in history if r["ingested_at"] <= day10 and r["occurred_at"] < day10])
    assert to_table(early, "candidate_signals") == to_table(
        t.candidate_signals(known(as_it_stood, day10), date(2026, 5, 10), day10), "candidate_signals")

    late = signals_by_candidate(t.candidate_signals(known(everything, at(20)), date(2026, 5, 20), at(20)))[ADA]
    assert late["on_time_delivery_rate"] == (0.5, 2) and late["median_days_late"] == (1.0, 1)
    assert late["mean_rubric_score"] == (2.0, 1) and late["would_rehire_rate"] == (0.0, 1)
    assert late["rubric_quality"][0] < 5.0  # and the population prior now includes Ada's 2s
    assert late["impact_outcomes"] == (1.0, 1) and late["offers_extended"] == (1.0, 1)
    assert late["active_verified_credentials"] == (0.0, 1) and late["credential_skills"] == (0.0, 0)


def test_signals_do_not_depend_on_partitioning(frame):
    """Byte-identical reruns: exact sums and medians, whatever order the rows arrive in."""
    events = frame(history_with_late_knowledge() + engagement_story(candidate=CARA) + [
        feedback(f"f{i}", BEN, at(i), (1 + i % 5, 5 - i % 5, 3, 4)) for i in range(12)])
    one = t.candidate_signals(known(events.repartition(1), at(20)), date(2026, 5, 20), at(20))
    many = t.candidate_signals(known(events.repartition(7, "event_id"), at(20)), date(2026, 5, 20), at(20))
    assert to_table(one, "candidate_signals") == to_table(many, "candidate_signals")


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
