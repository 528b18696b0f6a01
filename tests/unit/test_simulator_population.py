"""The marketplace simulator's population: determinism, volume, realism, contract conformance, personas."""

from __future__ import annotations

import re
import statistics
import time
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache

import pytest

from hiring_signals.contract import Normaliser, Rejection
from hiring_signals.identity import Pseudonymiser, normalise_email
from hiring_signals.sources.marketplace import to_envelope
from hiring_signals.simulators.marketplace import (
    PERSONAS,
    SIGNAL_NAMES,
    generate,
    persona_as_of,
    persona_expected_signals,
)

START = date(2026, 5, 1)
END = date(2026, 7, 1)
RFC3339_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


@lru_cache(maxsize=None)
def small(seed: int = 11, **rates):
    return generate(seed, START, END, candidates=500, employers=50, **rates)


@lru_cache(maxsize=1)
def default_size():
    began = time.perf_counter()
    population = generate(7, date(2026, 5, 1), date(2026, 11, 1))
    return population, time.perf_counter() - began


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


def normaliser(population) -> Normaliser:
    return Normaliser("marketplace", "test-batch", population.end_at, Pseudonymiser(b"k" * 32))


# -- determinism ---------------------------------------------------------------------------------------------

def test_same_seed_gives_identical_records_and_different_seed_differs():
    a = generate(11, START, END, candidates=500, employers=50)
    b = small(11)
    assert a.records == b.records
    assert a.positions == b.positions
    assert a.late_event_ids == b.late_event_ids
    c = small(12)
    assert c.records != a.records
    assert {r["id"] for r in c.records} - c.persona_event_ids != {r["id"] for r in a.records} - a.persona_event_ids


def test_invalid_arguments_are_rejected():
    with pytest.raises(ValueError):
        generate(1, END, START)
    with pytest.raises(TypeError, match="unknown rate"):
        generate(1, START, END, candidates=50, employers=5, lateness=0.1)
    with pytest.raises(ValueError):
        generate(1, START, END, candidates=50, employers=5, late_rate=1.5)


# -- wire shape and time invariants ---------------------------------------------------------------------------

def test_records_are_sorted_well_formed_and_inside_the_window():
    population = small()
    end = population.end_at
    assert population.records and len(population.records) == len(population.positions)
    assert population.positions == sorted(population.positions)
    for record, (updated_us, event_id, seq) in zip(population.records, population.positions):
        assert list(record) == ["id", "type", "occurred_at", "updated_at", "tenant", "candidate", "employer_id",
                                "engagement_id", "data"]
        assert record["id"] == event_id and record["id"].startswith("evt_")
        assert record["type"].endswith(".v1")
        assert RFC3339_Z.match(record["occurred_at"]) and RFC3339_Z.match(record["updated_at"])
        occurred, updated = ts(record["occurred_at"]), ts(record["updated_at"])
        assert occurred <= updated < end
        assert int(updated.timestamp()) * 1_000_000 == updated_us
        assert record["tenant"]
        assert record["candidate"] is None or set(record["candidate"]) == {"id", "email"}
        assert isinstance(record["data"], dict)


def test_redeliveries_repeat_the_same_record_later_and_late_arrivals_lag_days():
    population = small()
    first: dict[str, dict] = {}
    redelivered = 0
    for record, (_, event_id, seq) in zip(population.records, population.positions):
        if seq == 0:
            assert event_id not in first, "an event is delivered for the first time only once"
            first[event_id] = record
        else:
            redelivered += 1
            original = first[event_id]  # the original is always served before its redelivery
            assert ts(record["updated_at"]) > ts(original["updated_at"])
            assert {**record, "updated_at": original["updated_at"]} == original
    distinct = len(first)
    assert 0.004 < redelivered / distinct < 0.02
    lags = {eid: ts(r["updated_at"]) - ts(r["occurred_at"]) for eid, r in first.items()}
    late = population.late_event_ids
    assert all(timedelta(days=2) <= lags[eid] <= timedelta(days=20) for eid in late)
    assert all(lags[eid] <= timedelta(minutes=30) for eid in lags if eid not in late and
               eid not in population.persona_event_ids)
    assert 0.015 < len(late) / distinct < 0.05


def test_rates_switch_off_late_arrivals_and_redeliveries():
    population = small(11, late_rate=0.0, redelivery_rate=0.0)
    assert not population.late_event_ids
    assert all(seq == 0 for _, _, seq in population.positions)


def test_candidate_emails_vary_in_form_but_resolve_to_one_person():
    population = small()
    forms: dict[str, set[str]] = defaultdict(set)
    for record in population.records:
        if record["candidate"]:
            forms[record["candidate"]["id"]].add(record["candidate"]["email"])
    people = {cid: {normalise_email(e) for e in emails} for cid, emails in forms.items()}
    assert all(len(emails) == 1 for emails in people.values()), "one normalised email per candidate id"
    assert len({next(iter(e)) for e in people.values()}) == len(people), "distinct people, distinct emails"
    varied = [cid for cid, emails in forms.items() if len(emails) > 1 and "persona" not in cid]
    assert len(varied) > 20
    assert any(e != e.strip() for cid in varied for e in forms[cid])
    assert any(e != e.lower() for cid in varied for e in forms[cid])


# -- contract -----------------------------------------------------------------------------------------------

def test_every_record_normalises_without_rejection_small_population():
    population = small()
    norm = normaliser(population)
    rejections = [r for r in (norm.normalise(to_envelope(rec)) for rec in population.records) if isinstance(r, Rejection)]
    assert rejections == []


def test_default_size_volume_timing_and_contract():
    population, seconds = default_size()
    stats = population.stats()
    print(f"\ndefault size: {stats['records']} records ({stats['distinct_events']} distinct, "
          f"{stats['redeliveries']} redeliveries, {stats['late_arrivals']} late) in {seconds:.2f} s")
    assert 60_000 <= stats["records"] <= 150_000
    assert seconds < 20, "target is < 10 s; allow slow CI machines some slack"
    assert set(stats["by_type"]) == {
        "engagement.posted.v1", "application.submitted.v1", "application.decided.v1", "engagement.started.v1",
        "engagement.completed.v1", "engagement.cancelled.v1", "deliverable.submitted.v1", "deliverable.reviewed.v1",
        "feedback.recorded.v1", "outcome.measured.v1", "payment.settled.v1", "offer.extended.v1",
        "offer.accepted.v1", "credential.issued.v1", "credential.status_changed.v1", "referral.made.v1",
        "candidate.profile_updated.v1",
    }
    posted_per_day = stats["engagements"]["posted"] / (population.end - population.start).days
    assert 20 <= posted_per_day <= 30
    norm = normaliser(population)
    reasons = Counter(r.reason for r in (norm.normalise(to_envelope(rec)) for rec in population.records)
                      if isinstance(r, Rejection))
    assert reasons == Counter()


# -- realism ------------------------------------------------------------------------------------------------

def _by_engagement(population):
    events = defaultdict(list)
    seen = set()
    for record in population.records:
        if record["engagement_id"] and record["id"] not in seen:
            seen.add(record["id"])
            events[record["engagement_id"]].append(record)
    return events


def test_engagement_shapes_and_lifecycle_order():
    population = small(11, late_rate=0.0)
    end = population.end_at
    for engagement_id, events in _by_engagement(population).items():
        types = Counter(e["type"].removesuffix(".v1") for e in events)
        when = {e["type"].removesuffix(".v1"): ts(e["occurred_at"]) for e in events}
        posted = next(e for e in events if e["type"] == "engagement.posted.v1")["data"]
        assert 1 <= len(posted["skills"]) <= 4 and 2 <= posted["duration_weeks"] <= 6
        assert 1 <= len(posted["deliverables"]) <= 3 and posted["pay"]["amount"] > 0
        if "persona" not in engagement_id and ts(events[0]["occurred_at"]) < end - timedelta(days=30):
            assert 3 <= types["application.submitted"] <= 10, engagement_id
        assert types["engagement.started"] <= 1
        assert types["engagement.completed"] + types["engagement.cancelled"] <= types["engagement.started"]
        for later in ("engagement.completed", "engagement.cancelled", "deliverable.submitted"):
            if later in when:
                assert when[later] > when["engagement.started"]
        if "engagement.started" in when:
            selected = [e for e in events if e["type"] == "application.decided.v1"
                        and e["data"]["decision"] == "selected"]
            started = next(e for e in events if e["type"] == "engagement.started.v1")
            assert [s["candidate"]["id"] for s in selected] == [started["candidate"]["id"]]
            assert ts(selected[0]["occurred_at"]) < when["engagement.started"]
        for follower in ("feedback.recorded", "payment.settled"):
            if follower in types:
                assert "engagement.completed" in when and when[follower] > when["engagement.completed"]
        if "offer.accepted" in when:
            assert when["offer.accepted"] > when["offer.extended"]
        submitted_ids = set()
        for e in sorted(events, key=lambda e: e["occurred_at"]):
            if e["type"] == "deliverable.submitted.v1":
                assert e["data"]["submitted_at"] == e["occurred_at"]
                submitted_ids.add(e["data"]["deliverable_id"])
            if e["type"] == "deliverable.reviewed.v1":
                assert e["data"]["deliverable_id"] in submitted_ids


def test_population_rates_and_trait_effects_are_realistic():
    population, _ = default_size()
    stats = population.stats()["engagements"]
    assert 0.80 <= stats["completed"] / (stats["completed"] + stats["cancelled"]) <= 0.90
    records = [r for r, (_, _, seq) in zip(population.records, population.positions) if seq == 0]
    by_type = Counter(r["type"] for r in records)
    assert 0.05 <= by_type["offer.extended.v1"] / by_type["engagement.completed.v1"] <= 0.12
    assert 0.45 <= by_type["offer.accepted.v1"] / by_type["offer.extended.v1"] <= 0.75
    traits = {c.id: c for c in population.candidates}
    on_time = defaultdict(list)
    scores = defaultdict(list)
    verification = Counter()
    statuses = Counter()
    comments = 0
    for r in records:
        if r["type"] == "deliverable.submitted.v1" and r["data"]["submission_round"] == 1:
            on_time[r["candidate"]["id"]].append(r["data"]["submitted_at"] <= r["data"]["due_at"])
        elif r["type"] == "feedback.recorded.v1":
            values = r["data"]["scores"].values()
            assert all(isinstance(v, int) and 1 <= v <= 5 for v in values)
            scores[r["candidate"]["id"]].append(sum(values) / 4)
            comments += "comment" in r["data"]
        elif r["type"] == "credential.issued.v1":
            verification[r["data"]["verification_result"]] += 1
        elif r["type"] == "credential.status_changed.v1":
            statuses[r["data"]["status"]] += 1

    def mean_of(groups, keep):
        values = [v for cid, vs in groups.items() if cid in traits and keep(traits[cid]) for v in vs]
        return statistics.mean(values)

    assert mean_of(on_time, lambda c: c.reliability > 0.9) > mean_of(on_time, lambda c: c.reliability < 0.6) + 0.2
    assert mean_of(scores, lambda c: c.skill > 4.2) > mean_of(scores, lambda c: c.skill < 3.0) + 0.5
    assert 0 < comments < by_type["feedback.recorded.v1"]
    assert verification["verified"] / sum(verification.values()) > 0.85 and verification["failed"] > 0
    assert statuses["active"] > statuses["revoked"] > 0 and statuses["expired"] > 0
    issued = [r for r in records if r["type"] == "credential.issued.v1"]
    assert any(r["data"]["valid_until"] and ts(r["data"]["valid_until"]) < ts(r["occurred_at"]) for r in issued), \
        "some credentials are already expired when they reach the platform"


# -- personas -----------------------------------------------------------------------------------------------

def persona_signals(records, email: str, as_of: datetime) -> dict:
    """Signals computed straight from the served records (independently of persona_expected_signals)."""
    events = {}
    for r in records:
        if (r["candidate"] and normalise_email(r["candidate"]["email"]) == email
                and ts(r["occurred_at"]) <= as_of and ts(r["updated_at"]) <= as_of):
            events[r["id"]] = r
    of_type = defaultdict(list)
    for r in sorted(events.values(), key=lambda r: (r["occurred_at"], r["id"])):
        of_type[r["type"]].append(r)
    started = len(of_type["engagement.started.v1"])
    completed = len(of_type["engagement.completed.v1"])
    cancelled = len(of_type["engagement.cancelled.v1"])
    submissions = [r["data"] for r in of_type["deliverable.submitted.v1"]]
    feedback = [r["data"]["scores"] for r in of_type["feedback.recorded.v1"]]
    latest_status = {}
    for r in of_type["credential.status_changed.v1"]:
        latest_status[r["data"]["credential_id"]] = r["data"]["status"]
    active = 0
    for r in of_type["credential.issued.v1"]:
        d = r["data"]
        if (d["verification_result"] == "verified" and ts(d["valid_from"]) <= as_of
                and (d["valid_until"] is None or as_of < ts(d["valid_until"]))
                and latest_status.get(d["credential_id"]) not in ("revoked", "suspended", "expired")):
            active += 1
    by_candidate = sum(r["data"]["cancelled_by"] == "candidate" for r in of_type["engagement.cancelled.v1"])
    rehire = [r["data"]["would_rehire"] for r in of_type["feedback.recorded.v1"]]
    responses = sorted((ts(r["occurred_at"]) - ts(r["data"]["invited_at"])) / timedelta(hours=1)
                       for r in of_type["application.submitted.v1"] if "invited_at" in r["data"])
    return {
        "engagements_started": started,
        "engagements_completed": completed,
        "completion_rate": completed / (completed + cancelled) if completed + cancelled else None,
        "cancellation_rate": by_candidate / (completed + cancelled) if completed + cancelled else None,
        "would_rehire_rate": sum(rehire) / len(rehire) if rehire else None,
        "impact_outcomes": len(of_type["outcome.measured.v1"]),
        "referrals_made": len(of_type["referral.made.v1"]),
        "offers_extended": len(of_type["offer.extended.v1"]),
        "offers_accepted": len(of_type["offer.accepted.v1"]),
        "median_response_hours": statistics.median(responses) if responses else None,
        "on_time_delivery_rate": (sum(ts(s["submitted_at"]) <= ts(s["due_at"]) for s in submissions) / len(submissions)
                                  if submissions else None),
        "mean_rubric_score": statistics.mean(sum(s.values()) / 4 for s in feedback) if feedback else None,
        "active_verified_credentials": active,
    }


@pytest.mark.parametrize("email", sorted(PERSONAS))
def test_persona_signals_match_the_hand_computed_values(email):
    population = small()
    expected = persona_expected_signals(START)[email]
    assert set(expected) == set(SIGNAL_NAMES)
    actual = persona_signals(population.records, email, persona_as_of(START))
    assert actual == pytest.approx({k: expected[k] for k in actual})  # the ones computable from records alone


def test_persona_histories_are_fixed_whatever_the_seed_or_size():
    def persona_records(population):
        return [r for r in population.records if r["id"] in population.persona_event_ids]

    a = persona_records(small(11))
    b = persona_records(generate(99, START, date(2026, 6, 15), candidates=60, employers=6))
    assert a == b and len(a) == 85
    window_end = datetime(2026, 5, 26, tzinfo=timezone.utc)
    assert all(ts(r["updated_at"]) < window_end for r in a)
    assert len({r["id"] for r in a}) == len(a), "personas are never redelivered"
    lagged = [r for r in a if ts(r["updated_at"]) - ts(r["occurred_at"]) > timedelta(minutes=1)]
    assert [(normalise_email(r["candidate"]["email"]), r["type"]) for r in lagged] == [
        ("dan.delayed@persona.example", "feedback.recorded.v1")]
    assert ts(lagged[0]["occurred_at"]).date() == START + timedelta(days=13)
    assert ts(lagged[0]["updated_at"]).date() == START + timedelta(days=24)
    cara_forms = {r["candidate"]["email"] for r in a
                  if r["candidate"] and normalise_email(r["candidate"]["email"]) == "cara.new@persona.example"}
    assert cara_forms == {"Cara.New@Persona.Example", "  cara.new@persona.example ", "CARA.NEW@persona.example"}


def test_persona_scripts_have_the_specified_shape():
    records = small().records
    by_email = defaultdict(list)
    for r in records:
        if r["candidate"] and r["candidate"]["email"].strip().lower().endswith("@persona.example"):
            by_email[normalise_email(r["candidate"]["email"])].append(r)
    ada = by_email["ada.reliable@persona.example"]
    assert len({r["employer_id"] for r in ada if r["type"] == "engagement.started.v1"}) == 3
    ada_subs = [r["data"] for r in ada if r["type"] == "deliverable.submitted.v1"]
    assert len(ada_subs) == 6 and any(s["submitted_at"] == s["due_at"] for s in ada_subs)
    assert [r["data"]["outcome"] for r in ada if r["type"] == "deliverable.reviewed.v1"] == ["approved"] * 6
    ben = by_email["ben.late@persona.example"]
    cancel = [r["data"] for r in ben if r["type"] == "engagement.cancelled.v1"]
    assert cancel and cancel[0]["cancelled_by"] == "candidate"
    issued = next(r for r in ben if r["type"] == "credential.issued.v1")
    revoked = next(r for r in ben if r["type"] == "credential.status_changed.v1")
    assert revoked["data"]["status"] == "revoked"
    assert ts(revoked["occurred_at"]) - ts(issued["occurred_at"]) == timedelta(days=10)
    cara = by_email["cara.new@persona.example"]
    assert not [r for r in cara if r["type"] in ("engagement.completed.v1", "feedback.recorded.v1")]
    assert sorted(r["data"]["verification_result"] for r in cara if r["type"] == "credential.issued.v1") == [
        "failed", "verified", "verified"]
    dan = by_email["dan.delayed@persona.example"]
    started = next(r for r in dan if r["type"] == "engagement.started.v1")
    completed = next(r for r in dan if r["type"] == "engagement.completed.v1")
    assert (ts(started["occurred_at"]).date() - START).days == 2
    assert (ts(completed["occurred_at"]).date() - START).days == 12


def test_dans_late_feedback_is_unknown_before_it_was_recorded():
    records = small().records
    as_of_day_20 = datetime(2026, 5, 21, tzinfo=timezone.utc)
    assert persona_signals(records, "dan.delayed@persona.example", as_of_day_20)["mean_rubric_score"] is None
    assert persona_signals(records, "dan.delayed@persona.example", persona_as_of(START))["mean_rubric_score"] == 4.5


def test_random_population_never_touches_persona_people_or_employers():
    population = small()
    for record in population.records:
        if record["id"] in population.persona_event_ids:
            continue
        assert "persona" not in (record["employer_id"] or "")
        assert "persona" not in ((record["candidate"] or {}).get("email") or "").lower()
        assert "persona" not in record["data"].get("referred_email", "")
