"""Scripted personas: candidates whose whole marketplace history is fixed by hand.

They are always part of a generated population, whatever the seed or size, so tests further down the
pipeline (Spark signals, dbt marts, feeds) can assert exact values. Every persona event occurs within the
first 25 days after the population's `start`; day offsets below are relative to `start` at 00:00 UTC.
Persona events are never made malformed, redelivered or late by the simulator; the one late arrival is
Dan's scripted feedback (occurred on day 13, recorded by the platform on day 24).

`persona_expected_signals(start)` holds the values computed by hand from the scripts below, evaluated as
of `start + 30 days` (knowledge time: events that occurred *and* were recorded by then). They hold for any
as-of date from day 25 on, as long as the population's `end` is at least 25 days after `start`.
`persona_expected_time_relative(start, as_of_end, rubric_prior)` adds the signals that also depend on the
as-of instant (days since last activity, active weeks, recency weights) and on the population (the rubric
prior, hence the rubric dimensions and the composite score), computed from the scripts by the documented
formulas (spark_jobs/README.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

PERSONA_TENANT = "northbridge-university"
PERSONA_AS_OF_DAYS = 30
PERSONA_WINDOW_DAYS = 25

ADA = "ada.reliable@persona.example"
BEN = "ben.late@persona.example"
CARA = "cara.new@persona.example"
DAN = "dan.delayed@persona.example"

PERSONAS: dict[str, str] = {
    ADA: "Reliable: 3 engagements with 3 different employers, all completed; 6 deliverables on or before due "
         "(one exactly at its due time), all approved first time; feedback (5,5,5,5), (4,4,4,4), (5,4,5,4), "
         "would rehire; 2 verified open-ended credentials (one re-checked active), no revocations; two measured "
         "KPI outcomes; refers Cara; converted into a full-time offer by her third employer, accepted.",
    BEN: "Late: 2 engagements started, 1 completed, 1 cancelled by the candidate; 3 deliverables, 1 on time and "
         "2 late (one sent back for changes); one feedback (3,2,2,3), would not rehire; 1 verified credential "
         "revoked 10 days after issue.",
    CARA: "New: events carry her email as 'Cara.New@Persona.Example', '  cara.new@persona.example ', "
          "'CARA.NEW@persona.example'; 1 engagement started and still in progress (never completed); "
          "1 deliverable on time; no feedback; 3 credentials: one whose proof failed verification, one expired "
          "on day 15, one verified and valid -> exactly 1 active.",
    DAN: "Delayed: 1 engagement started day 2, completed day 12; 1 deliverable on time; feedback (4,5,4,5) "
         "occurred on day 13 but recorded (updated_at) on day 24: invisible to any as-of time before day 24. "
         "The same employer hires him again: a second engagement started day 16, in progress.",
}

# The signals persona_expected_signals() gives exact values for (every other signal of the catalog depends on
# the as-of instant or the population: persona_expected_time_relative()).
SIGNAL_NAMES = (
    "engagements_started",
    "engagements_completed",
    "completion_rate",
    "cancellation_rate",
    "on_time_delivery_rate",
    "median_days_late",
    "first_pass_approval_rate",
    "mean_rubric_score",
    "would_rehire_rate",
    "impact_outcomes",
    "impact_size",
    "active_verified_credentials",
    "credential_skills",
    "skill_breadth",
    "skills_work_and_credential",
    "repeat_engagement_rate",
    "referrals_made",
    "referrals_received",
    "offers_extended",
    "offers_accepted",
    "placements_started",
    "placements_fell_off",
    "median_response_hours",
)
TIME_RELATIVE_SIGNAL_NAMES = (
    "rubric_quality",
    "rubric_communication",
    "rubric_timeliness",
    "rubric_skill_fit",
    "days_since_last_activity",
    "active_weeks_90d",
    "signal_score",
)

_RECORD_LAG = timedelta(seconds=30)  # persona events are recorded 30 s after they occur
_RUBRIC_ID = "mp-mentor-rubric"
_RUBRIC_VERSION = 2


@dataclass(frozen=True)
class PersonaEvent:
    id: str
    type: str  # without version suffix, e.g. "engagement.started"
    occurred_at: datetime
    updated_at: datetime
    tenant: str
    candidate_id: str | None
    email: str | None  # exactly as served (Cara's varies)
    employer_id: str | None
    engagement_id: str | None
    data: dict[str, Any]


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def persona_as_of(start: date) -> datetime:
    """The knowledge time the expected values are evaluated at: start + 30 days, 00:00 UTC."""
    return datetime.combine(start, time(), tzinfo=timezone.utc) + timedelta(days=PERSONA_AS_OF_DAYS)


def persona_expected_signals(start: date) -> dict[str, dict[str, Any]]:
    """Hand-computed signal values per persona email, as of `persona_as_of(start)`.

    completion_rate = completed / (completed + cancelled), None when nothing ended;
    on_time_delivery_rate = deliverables submitted at or before due_at / submitted, None when none;
    cancellation_rate = ended by the candidate's own cancellation / ended;
    median_days_late = median lateness of the deliverables first submitted late, None when none was;
    first_pass_approval_rate = deliverables approved at their first review / reviewed;
    mean_rubric_score = mean over feedback events of the mean of the four scores, None when none;
    would_rehire_rate = reviews saying yes / reviews;
    impact_size = mean of |result - baseline| / max(|baseline|, |result|) over the measured KPIs;
    active_verified_credentials = proof verified, valid_from <= as_of < valid_until (or open-ended),
    latest status not revoked / suspended / expired;
    skills (vocabulary ids): completed engagements' scope skills and active credentials' skills;
    repeat_engagement_rate = employers who engaged the candidate twice or more / employers;
    median_response_hours = median of application time - invited_at over invited applications.
    The values do not depend on `start`; the argument documents what they are relative to.
    """
    del start  # the scripts are relative to start, so the values are too
    none = {"placements_started": 0, "placements_fell_off": 0}  # recruiter placements: not in these scripts
    return {
        ADA: {
            "engagements_started": 3,
            "engagements_completed": 3,
            "completion_rate": 1.0,
            "cancellation_rate": 0.0,
            "on_time_delivery_rate": 1.0,  # 6 / 6
            "median_days_late": None,
            "first_pass_approval_rate": 1.0,  # 6 / 6
            "mean_rubric_score": 4.5,  # mean(5.0, 4.0, 4.5)
            "would_rehire_rate": 1.0,  # 3 / 3
            "impact_outcomes": 2,
            "impact_size": 0.65,  # mean(|6 - 20| / 20, |25 - 10| / 25)
            "active_verified_credentials": 2,
            "credential_skills": 3,  # sql, statistics, tableau
            "skill_breadth": 4,  # + python from her work (SQL, Python on every engagement)
            "skills_work_and_credential": 1,  # sql
            "repeat_engagement_rate": 0.0,  # 3 employers, once each
            "referrals_made": 1,
            "referrals_received": 0,
            "offers_extended": 1,
            "offers_accepted": 1,
            "median_response_hours": None,  # applied from search, never invited
            **none,
        },
        BEN: {
            "engagements_started": 2,
            "engagements_completed": 1,
            "completion_rate": 0.5,  # 1 completed, 1 cancelled
            "cancellation_rate": 0.5,  # ... by himself
            "on_time_delivery_rate": 1 / 3,
            "median_days_late": 20 / 24,  # median of 23 and 17 hours late
            "first_pass_approval_rate": 2 / 3,  # one sent back for changes
            "mean_rubric_score": 2.5,  # (3+2+2+3)/4
            "would_rehire_rate": 0.0,
            "impact_outcomes": 0,
            "impact_size": None,
            "active_verified_credentials": 0,  # revoked on day 12
            "credential_skills": 0,
            "skill_breadth": 2,  # market research, spreadsheets (Excel) from the completed engagement
            "skills_work_and_credential": 0,  # his Excel credential was revoked
            "repeat_engagement_rate": 0.0,
            "referrals_made": 0,
            "referrals_received": 0,
            "offers_extended": 0,
            "offers_accepted": 0,
            "median_response_hours": 6.0,  # invited 12:00, applied 18:00
            **none,
        },
        CARA: {
            "engagements_started": 1,
            "engagements_completed": 0,
            "completion_rate": None,  # still in progress
            "cancellation_rate": None,
            "on_time_delivery_rate": 1.0,
            "median_days_late": None,
            "first_pass_approval_rate": 1.0,
            "mean_rubric_score": None,
            "would_rehire_rate": None,
            "impact_outcomes": 0,
            "impact_size": None,
            "active_verified_credentials": 1,  # failed proof and expired ones excluded
            "credential_skills": 1,  # figma
            "skill_breadth": 1,  # nothing completed yet
            "skills_work_and_credential": 0,
            "repeat_engagement_rate": 0.0,
            "referrals_made": 0,
            "referrals_received": 1,  # from Ada
            "offers_extended": 0,
            "offers_accepted": 0,
            "median_response_hours": 4.0,  # invited 09:00, applied 13:00
            **none,
        },
        DAN: {
            "engagements_started": 2,
            "engagements_completed": 1,
            "completion_rate": 1.0,
            "cancellation_rate": 0.0,
            "on_time_delivery_rate": 1.0,
            "median_days_late": None,
            "first_pass_approval_rate": 1.0,
            "mean_rubric_score": 4.5,  # (4+5+4+5)/4, known from day 24
            "would_rehire_rate": 1.0,
            "impact_outcomes": 0,
            "impact_size": None,
            "active_verified_credentials": 0,
            "credential_skills": 0,
            "skill_breadth": 2,  # spreadsheets, sql
            "skills_work_and_credential": 0,
            "repeat_engagement_rate": 1.0,  # his one employer hired him twice
            "referrals_made": 0,
            "referrals_received": 0,
            "offers_extended": 0,
            "offers_accepted": 0,
            "median_response_hours": None,
            **none,
        },
    }


# Numerators and denominators of the composite's rate components, by hand from the scripts, as known from
# day 22 on: (on time, submitted), (completed, ended), (approved first time, reviewed), (would rehire, answers:
# informative only, the oracle counts the known reviews since Dan's is late), (active credentials, issued),
# measured outcomes.
_SCORE_INPUTS = {
    ADA: {"delivery": (6, 6), "completion": (3, 3), "first_pass": (6, 6), "rehire": (3, 3), "credentials": (2, 2),
          "impact": 2},
    BEN: {"delivery": (1, 3), "completion": (1, 2), "first_pass": (2, 3), "rehire": (0, 1), "credentials": (0, 1),
          "impact": 0},
    CARA: {"delivery": (1, 1), "completion": (0, 0), "first_pass": (1, 1), "rehire": (0, 0), "credentials": (1, 3),
           "impact": 0},
    DAN: {"delivery": (1, 1), "completion": (1, 1), "first_pass": (1, 1), "rehire": (1, 1), "credentials": (0, 0),
          "impact": 0},
}


def _ingested_at(updated_at: datetime) -> datetime:
    """Knowledge time of a record under daily ingestion: the end of the UTC day it was recorded on."""
    return datetime.combine(updated_at.date() + timedelta(days=1), time(), tzinfo=timezone.utc)


def persona_expected_time_relative(start: date, as_of_end: datetime, rubric_prior: dict[str, float] | None = None,
                                   half_life_days: float = 180.0) -> dict[str, dict[str, Any]]:
    """Per persona email, the signals that depend on the as-of instant, by the documented formulas.

    Always: days_since_last_activity, active_weeks_90d. With `rubric_prior` (the population mean of each rubric
    dimension as of the same date, which depends on the whole population): the four rubric_<dimension> values
    and signal_score. Only events known as of `as_of_end` count (recorded, then ingested by the end of that day).
    """
    from hiring_signals.contract import curated_schema as c  # the weights and constants live there, once

    known = [e for e in persona_events(start) if e.occurred_at < as_of_end and _ingested_at(e.updated_at) <= as_of_end]
    out: dict[str, dict[str, Any]] = {}
    for email in PERSONAS:
        mine = [e for e in known if e.email is not None and e.email.strip().lower() == email]
        activity = [e.occurred_at for e in mine if e.type in c.ACTIVITY_EVENT_TYPES]
        ages = [(as_of_end - t) / timedelta(days=1) for t in activity]
        in_window = [a for a in ages if a <= c.ACTIVITY_WINDOW_DAYS]
        weeks = len({int(a // 7) for a in in_window})
        values: dict[str, Any] = {
            "days_since_last_activity": min(ages) if ages else None,
            "active_weeks_90d": weeks,
        }
        if rubric_prior is not None:
            reviews = [e for e in mine if e.type == "feedback.recorded"]
            weights = [round(0.5 ** (((as_of_end - e.occurred_at) / timedelta(days=1)) / half_life_days) * 1e9)
                       for e in reviews]
            m = c.RUBRIC_PRIOR_WEIGHT
            for d in c.RUBRIC_DIMENSIONS:
                weighted = sum(w * e.data["scores"][d] for w, e in zip(weights, reviews)) / 1e9
                values[f"rubric_{d}"] = ((weighted + m * rubric_prior[d]) / (sum(weights) / 1e9 + m)
                                         if reviews else None)
            quality = (sum(values[f"rubric_{d}"] for d in c.RUBRIC_DIMENSIONS) / 4 if reviews
                       else sum(rubric_prior.values()) / 4)
            inputs = _SCORE_INPUTS[email]

            def smoothed(pair: tuple[int, int]) -> float:
                return (pair[0] + c.SCORE_RATE_PRIOR_WEIGHT * c.SCORE_RATE_PRIOR) / (pair[1] + c.SCORE_RATE_PRIOR_WEIGHT)
            normalised = {
                "quality": (quality - 1) / 4,
                "delivery": smoothed(inputs["delivery"]),
                "completion": smoothed(inputs["completion"]),
                "first_pass": smoothed(inputs["first_pass"]),
                "rehire": smoothed((sum(e.data["would_rehire"] for e in reviews), len(reviews))),
                "credentials": min(inputs["credentials"][0], c.SCORE_CAP_CREDENTIALS) / c.SCORE_CAP_CREDENTIALS,
                "impact": min(inputs["impact"], c.SCORE_CAP_OUTCOMES) / c.SCORE_CAP_OUTCOMES,
                "activity": weeks / 13,
            }
            values["signal_score"] = sum(comp.weight * normalised[comp.name] for comp in c.SCORE_COMPONENTS)
        out[email] = values
    return out


@dataclass
class _Script:
    key: str
    candidate_id: str
    emails: tuple[str, ...]  # cycled through, one per event
    start: datetime
    events: list[PersonaEvent] = field(default_factory=list)

    def at(self, day: int, hour: int, minute: int = 0) -> datetime:
        return self.start + timedelta(days=day, hours=hour, minutes=minute)

    def emit(self, type_: str, when: datetime, data: dict, *, employer_id: str | None = None,
             engagement_id: str | None = None, candidate: bool = True, recorded: datetime | None = None) -> None:
        email = None
        if candidate:
            email = self.emails[sum(1 for e in self.events if e.email is not None) % len(self.emails)]
        self.events.append(PersonaEvent(
            id=f"evt_persona_{self.key}_{len(self.events) + 1:03d}",
            type=type_,
            occurred_at=when,
            updated_at=recorded if recorded is not None else when + _RECORD_LAG,
            tenant=PERSONA_TENANT,
            candidate_id=self.candidate_id if candidate else None,
            email=email,
            employer_id=employer_id,
            engagement_id=engagement_id,
            data=data,
        ))

    def post(self, n: int, employer: tuple[str, str], when: datetime, title: str, category: str,
             skills: list[str], weeks: int, pay: float, deliverables: list[tuple[str, str, datetime]]) -> str:
        engagement_id = f"eng_persona_{self.key}_{n}"
        self.emit("engagement.posted", when, {
            "title": title,
            "category": category,
            "skills": skills,
            "duration_weeks": weeks,
            "pay": {"amount": pay, "currency": "USD"},
            "deliverables": [{"deliverable_id": d, "title": t, "due_at": rfc3339(due)} for d, t, due in deliverables],
            "employer_name": employer[1],
            "openings": 1,
        }, employer_id=employer[0], engagement_id=engagement_id, candidate=False)
        return engagement_id

    def hire(self, n: int, employer_id: str, engagement_id: str, applied: datetime, selected: datetime,
             started: datetime, planned_end: datetime, invited: datetime | None = None) -> None:
        application_id = f"app_persona_{self.key}_{n}"
        submitted = {"application_id": application_id, "channel": "invite" if invited else "search"}
        if invited is not None:
            submitted["invited_at"] = rfc3339(invited)
        refs = {"employer_id": employer_id, "engagement_id": engagement_id}
        self.emit("application.submitted", applied, submitted, **refs)
        self.emit("application.decided", selected, {"application_id": application_id, "decision": "selected"}, **refs)
        self.emit("engagement.started", started, {"application_id": application_id, "planned_end_at": rfc3339(planned_end)}, **refs)

    def deliver(self, employer_id: str, engagement_id: str, deliverable_id: str, due: datetime, submitted: datetime,
                reviewed: datetime | None, outcome: str = "approved") -> None:
        refs = {"employer_id": employer_id, "engagement_id": engagement_id}
        self.emit("deliverable.submitted", submitted, {
            "deliverable_id": deliverable_id,
            "due_at": rfc3339(due),
            "submitted_at": rfc3339(submitted),
            "artifact_url": f"https://files.marketplace.example/{engagement_id}/{deliverable_id}/v1.zip",
            "submission_round": 1,
        }, **refs)
        if reviewed is not None:
            self.emit("deliverable.reviewed", reviewed,
                      {"deliverable_id": deliverable_id, "outcome": outcome, "review_round": 1}, **refs)

    def feedback(self, employer_id: str, engagement_id: str, when: datetime, scores: tuple[int, int, int, int],
                 would_rehire: bool, comment: str | None = None, recorded: datetime | None = None) -> None:
        q, c, t, s = scores
        data: dict[str, Any] = {
            "rubric_id": _RUBRIC_ID,
            "rubric_version": _RUBRIC_VERSION,
            "scores": {"quality": q, "communication": c, "timeliness": t, "skill_fit": s},
            "would_rehire": would_rehire,
            "reviewer_role": "mentor",
        }
        if comment:
            data["comment"] = comment
        self.emit("feedback.recorded", when, data, employer_id=employer_id, engagement_id=engagement_id,
                  recorded=recorded)

    def credential(self, n: int, when: datetime, achievement: str, issuer: str, skills: list[str],
                   valid_from: datetime, valid_until: datetime | None, verification: str = "verified") -> str:
        credential_id = f"urn:uuid:00000000-0000-4000-8000-persona{self.key[:3]}{n:02d}"
        self.emit("credential.issued", when, {
            "credential_id": credential_id,
            "issuer": issuer,
            "achievement": achievement,
            "skills": skills,
            "valid_from": rfc3339(valid_from),
            "valid_until": rfc3339(valid_until) if valid_until else None,
            "proof_type": "DataIntegrityProof",
            "verification_result": verification,
        })
        return credential_id


_EMPLOYERS = {
    1: ("emp_persona_01", "Harbor Analytics Co."),
    2: ("emp_persona_02", "Kestrel Health Partners"),
    3: ("emp_persona_03", "Lumen Civic Labs"),
    4: ("emp_persona_04", "Oakline Retail Group"),
    5: ("emp_persona_05", "Pioneer Freight Systems"),
    6: ("emp_persona_06", "Quill & Ledger Media"),
    7: ("emp_persona_07", "Summit Energy Cooperative"),
}


def _ada(start: datetime) -> list[PersonaEvent]:
    s = _Script("ada", "usr_persona_ada", (ADA,), start)
    s.emit("candidate.profile_updated", s.at(0, 8), {"skills": ["SQL", "Python", "Tableau", "statistics"]})
    plans = [
        # n, employer, posted day, title, deliverable due days, submitted (day, hour), completion day, scores
        (1, 1, 0, "Customer churn analysis", [(5, (5, 12)), (8, (8, 17))], 9, (5, 5, 5, 5)),
        (2, 2, 4, "Clinic wait-time dashboard", [(10, (9, 16)), (14, (13, 11))], 15, (4, 4, 4, 4)),
        (3, 3, 8, "Open data quality audit", [(15, (14, 10)), (19, (18, 15))], 20, (5, 4, 5, 4)),
    ]
    for n, emp, day, title, deliverables, done, scores in plans:
        employer_id = _EMPLOYERS[emp][0]
        dues = [(f"dlv_persona_ada_{n}_{k + 1}", f"Milestone {k + 1}", s.at(due, 17))
                for k, (due, _) in enumerate(deliverables)]
        eng = s.post(n, _EMPLOYERS[emp], s.at(day, 9), title, "data-analysis", ["SQL", "Python"], 2, 900.0, dues)
        s.hire(n, employer_id, eng, s.at(day, 14), s.at(day + 1, 10), s.at(day + 2, 9), s.at(done, 17))
        for (deliverable_id, _, due), (_, (sub_day, sub_hour)) in zip(dues, deliverables):
            submitted = s.at(sub_day, sub_hour)  # the second one of engagement 1 lands exactly on due
            s.deliver(employer_id, eng, deliverable_id, due, submitted, submitted + timedelta(hours=20))
        s.emit("engagement.completed", s.at(done, 15), {"deliverables_approved": 2}, employer_id=employer_id,
               engagement_id=eng)
        s.feedback(employer_id, eng, s.at(done + 1, 10), scores, True,
                   comment="Clear, thorough work; would gladly work with Ada again." if n == 1 else None)
        s.emit("payment.settled", s.at(done + 2, 12), {
            "payment_id": f"pay_persona_ada_{n}", "amount": {"amount": 900.0, "currency": "USD"},
            "method": "bank_transfer"}, employer_id=employer_id, engagement_id=eng)
    c1 = s.credential(1, s.at(1, 11), "Data Analysis with SQL", "Northbridge University", ["SQL", "statistics"],
                      start - timedelta(days=200), None)
    s.credential(2, s.at(12, 11), "Dashboard Design Fundamentals", "Tableau Academy", ["Tableau"],
                 s.at(12, 0), None)
    s.emit("credential.status_changed", s.at(18, 6), {
        "credential_id": c1, "status": "active", "verification_result": "verified"})
    # Measured impact of two of her deliverables, reported by the employers after the work was done.
    for day, n, deliverable, metric, baseline, result, unit in (
            (16, 1, 2, "report_prep_hours", 20.0, 6.0, "hours"), (21, 2, 2, "dashboard_weekly_users", 10.0, 25.0, "count")):
        s.emit("outcome.measured", s.at(day, 10), {
            "deliverable_id": f"dlv_persona_ada_{n}_{deliverable}", "metric": metric, "baseline": baseline,
            "result": result, "unit": unit, "measured_by": "employer"},
            employer_id=_EMPLOYERS[n][0], engagement_id=f"eng_persona_ada_{n}")
    s.emit("referral.made", s.at(6, 20), {"referral_id": "ref_persona_ada_1", "referred_email": CARA,
                                          "channel": "email"})
    # Her third employer converts the micro-engagement into a full-time role; she accepts.
    s.emit("offer.extended", s.at(22, 11), {
        "offer_id": "ofr_persona_ada_1", "role_title": "Junior Data Analyst", "employment_type": "full_time",
        "is_conversion": True}, employer_id=_EMPLOYERS[3][0], engagement_id="eng_persona_ada_3")
    s.emit("offer.accepted", s.at(23, 15), {"offer_id": "ofr_persona_ada_1", "start_date": rfc3339(s.at(45, 0))[:10]},
           employer_id=_EMPLOYERS[3][0], engagement_id="eng_persona_ada_3")
    return s.events


def _ben(start: datetime) -> list[PersonaEvent]:
    s = _Script("ben", "usr_persona_ben", (BEN,), start)
    emp4, emp5 = _EMPLOYERS[4][0], _EMPLOYERS[5][0]
    d1 = [("dlv_persona_ben_1_1", "Competitor price scan", s.at(7, 17)),
          ("dlv_persona_ben_1_2", "Pricing recommendations", s.at(11, 17))]
    e1 = s.post(1, _EMPLOYERS[4], s.at(1, 9), "Competitive pricing review", "marketing", ["market research", "Excel"],
                2, 800.0, d1)
    s.hire(1, emp4, e1, s.at(1, 18), s.at(2, 10), s.at(3, 9), s.at(13, 17), invited=s.at(1, 12))
    d2 = [("dlv_persona_ben_2_1", "Route data clean-up", s.at(9, 17)),
          ("dlv_persona_ben_2_2", "Routing cost model", s.at(16, 17))]
    e2 = s.post(2, _EMPLOYERS[5], s.at(3, 9), "Delivery route cost model", "ops", ["Excel", "process mapping"],
                3, 1100.0, d2)
    s.hire(2, emp5, e2, s.at(3, 15), s.at(4, 10), s.at(5, 9), s.at(26, 17))
    credential = s.credential(1, s.at(2, 11), "Spreadsheet Modelling", "Riverside Community College", ["Excel"],
                              s.at(2, 0), None)
    s.deliver(emp4, e1, d1[0][0], d1[0][2], s.at(7, 9), s.at(8, 10))  # on time
    s.deliver(emp5, e2, d2[0][0], d2[0][2], s.at(10, 16), s.at(11, 9), outcome="changes_requested")  # late
    s.deliver(emp4, e1, d1[1][0], d1[1][2], s.at(12, 10), s.at(12, 18))  # late
    s.emit("engagement.cancelled", s.at(12, 14), {"cancelled_by": "candidate", "reason": "schedule_conflict"},
           employer_id=emp5, engagement_id=e2)
    # Revocation arrives as a status re-check 10 days after issue (Bitstring Status List).
    s.emit("credential.status_changed", s.at(12, 11), {
        "credential_id": credential, "status": "revoked",
        "verification_result": "verified"})
    s.emit("engagement.completed", s.at(13, 15), {"deliverables_approved": 2}, employer_id=emp4, engagement_id=e1)
    s.feedback(emp4, e1, s.at(14, 10), (3, 2, 2, 3), False,
               comment="Work was fine but both milestones needed chasing.")
    s.emit("payment.settled", s.at(15, 12), {
        "payment_id": "pay_persona_ben_1", "amount": {"amount": 800.0, "currency": "USD"}, "method": "paypal"},
        employer_id=emp4, engagement_id=e1)
    return s.events


def _cara(start: datetime) -> list[PersonaEvent]:
    forms = ("Cara.New@Persona.Example", "  cara.new@persona.example ", "CARA.NEW@persona.example")
    s = _Script("cara", "usr_persona_cara", forms, start)
    emp6 = _EMPLOYERS[6][0]
    s.emit("candidate.profile_updated", s.at(2, 20), {"skills": ["Figma", "UX research"]})
    s.credential(1, s.at(3, 10), "UX Research Essentials", "Open Design School", ["UX research"],
                 start - timedelta(days=100), None, verification="failed")
    s.credential(2, s.at(4, 10), "Accessibility Foundations", "Northbridge University", ["accessibility"],
                 start - timedelta(days=400), s.at(15, 12))  # expires on day 15
    s.credential(3, s.at(5, 10), "Figma Professional", "Figma Academy", ["Figma"],
                 s.at(5, 0), start + timedelta(days=365))
    dues = [("dlv_persona_cara_1_1", "Wireframes", s.at(16, 17)),
            ("dlv_persona_cara_1_2", "High-fidelity prototype", s.at(40, 17))]
    e1 = s.post(1, _EMPLOYERS[6], s.at(6, 9), "Newsletter sign-up redesign", "design", ["Figma", "UX research"],
                5, 1500.0, dues)
    s.hire(1, emp6, e1, s.at(7, 13), s.at(8, 10), s.at(10, 9), s.at(45, 17), invited=s.at(7, 9))
    s.deliver(emp6, e1, dues[0][0], dues[0][2], s.at(15, 16), s.at(17, 10))
    return s.events


def _dan(start: datetime) -> list[PersonaEvent]:
    s = _Script("dan", "usr_persona_dan", (DAN,), start)
    emp7 = _EMPLOYERS[7][0]
    dues = [("dlv_persona_dan_1_1", "Energy usage report", s.at(10, 17))]
    e1 = s.post(1, _EMPLOYERS[7], s.at(0, 10), "Member energy usage report", "data-analysis", ["Excel", "SQL"],
                2, 850.0, dues)
    s.hire(1, emp7, e1, s.at(0, 16), s.at(1, 11), s.at(2, 9), s.at(12, 17))
    s.deliver(emp7, e1, dues[0][0], dues[0][2], s.at(9, 15), s.at(10, 11))
    s.emit("engagement.completed", s.at(12, 10), {"deliverables_approved": 1}, employer_id=emp7, engagement_id=e1)
    s.emit("payment.settled", s.at(13, 9), {
        "payment_id": "pay_persona_dan_1", "amount": {"amount": 850.0, "currency": "USD"}, "method": "bank_transfer"},
        employer_id=emp7, engagement_id=e1)
    # The platform recorded this feedback 11 days after it was given: a late arrival by design.
    s.feedback(emp7, e1, s.at(13, 10), (4, 5, 4, 5), True, recorded=s.at(24, 9))
    # The same employer hires him again (a repeat engagement), still in progress at the as-of date.
    dues2 = [("dlv_persona_dan_2_1", "Member energy dashboard", s.at(28, 17))]
    e2 = s.post(2, _EMPLOYERS[7], s.at(14, 10), "Member energy dashboard", "data-analysis", ["Excel", "Power BI"],
                2, 900.0, dues2)
    s.hire(2, emp7, e2, s.at(14, 15), s.at(15, 11), s.at(16, 9), s.at(30, 17))
    return s.events


def persona_events(start: date) -> list[PersonaEvent]:
    """Every persona event, in script order (not sorted)."""
    origin = datetime.combine(start, time(), tzinfo=timezone.utc)
    events = _ada(origin) + _ben(origin) + _cara(origin) + _dan(origin)
    window_end = origin + timedelta(days=PERSONA_WINDOW_DAYS)
    assert all(e.occurred_at <= e.updated_at < window_end for e in events), "persona events must stay in the window"
    return events
