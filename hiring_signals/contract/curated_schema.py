"""The curated zone's datasets (Spark outputs, dbt sources) and the signal catalog, declared once.

Spark writes exactly these Arrow schemas, the warehouse loader creates landing tables from them, the dbt
sources document them, and the GX signals suite takes its ranges from SIGNALS.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from hiring_signals.contract.vocabulary import VOCABULARY_VERSION

# Bumped whenever a signal's definition changes (v2: the full signal set, recency-weighted and shrunk rubric
# dimensions, the composite score, provenance columns).
FEATURE_VERSION = "signals-v2"
# The four rubric dimensions (1-5) every source's feedback is mapped onto: marketplace mp-mentor-rubric v2 as is,
# the gig platform's client review stars through hiring_signals.sources.gig.RUBRIC_FROM_STARS.
RUBRIC_VERSION = "hs-rubric-v1"
RUBRIC_DIMENSIONS = ("quality", "communication", "timeliness", "skill_fit")

# Recency weighting and shrinkage of the rubric dimensions (see spark_jobs/README.md):
#   weight of a review  w = 0.5 ** (age_days / half_life_days)      (HS_SIGNAL_HALF_LIFE_DAYS, default 180)
#   dimension score     (sum w*score + RUBRIC_PRIOR_WEIGHT * population_mean) / (sum w + RUBRIC_PRIOR_WEIGHT)
# The population mean is the mean of that dimension over every review known as of the date. A prior weight of 5
# means a candidate's reviews outweigh the population only once they add up to more than five fresh reviews:
# three 5/5 reviews land well below thirty reviews averaging 4.8.
RUBRIC_PRIOR_WEIGHT = 5.0
DEFAULT_HALF_LIFE_DAYS = 180.0
ACTIVITY_WINDOW_DAYS = 90
# Event types that count as the candidate's own activity (days since last activity, active weeks).
ACTIVITY_EVENT_TYPES = (
    "application.submitted", "engagement.started", "deliverable.submitted", "engagement.completed",
    "referral.made", "offer.accepted", "candidate.profile_updated", "placement.interviewed", "placement.started",
)

TS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class SignalDef:
    name: str
    description: str
    unit: str  # count | ratio | score_1_5 | score_0_100 | days | hours
    min_value: float
    max_value: float | None
    evidence: str  # what evidence_count counts
    window_days: int | None = None  # None: all history up to the as-of date


SIGNALS: tuple[SignalDef, ...] = (
    SignalDef("engagements_started", "Engagements the candidate started.", "count", 0, None, "engagement.started events"),
    SignalDef("engagements_completed", "Engagements the candidate completed.", "count", 0, None, "engagement.completed events"),
    SignalDef("completion_rate", "Completed / (completed + cancelled) over engagements that have ended.", "ratio", 0, 1,
              "ended engagements"),
    SignalDef("cancellation_rate", "Share of ended engagements the candidate cancelled (cancelled_by = candidate).",
              "ratio", 0, 1, "ended engagements"),
    SignalDef("on_time_delivery_rate", "Share of deliverables first submitted by their due date.", "ratio", 0, 1,
              "submitted deliverables"),
    SignalDef("median_days_late", "Median days late over deliverables first submitted after their due date.",
              "days", 0, None, "late deliverables"),
    SignalDef("first_pass_approval_rate", "Share of reviewed deliverables approved at their first review.",
              "ratio", 0, 1, "reviewed deliverables"),
    SignalDef("mean_rubric_score", "Mean over feedback events of the mean of the four rubric dimensions (1-5).",
              "score_1_5", 1, 5, "feedback.recorded events"),
    *(SignalDef(f"rubric_{d}",
                f"Rubric {d.replace('_', ' ')} (1-5): recency-weighted mean shrunk toward the population mean.",
                "score_1_5", 1, 5, "feedback.recorded events") for d in RUBRIC_DIMENSIONS),
    SignalDef("would_rehire_rate", "Share of feedback saying the reviewer would hire the candidate again.", "ratio",
              0, 1, "feedback with would_rehire"),
    SignalDef("impact_outcomes", "Reported KPI outcomes of the candidate's deliverables.", "count", 0, None,
              "outcome.measured metrics"),
    SignalDef("impact_size", "Mean normalised size of the reported KPI changes: |result - baseline| / max(|baseline|, |result|).",
              "ratio", 0, 1, "outcome.measured metrics"),
    SignalDef("active_verified_credentials",
              "Credentials whose proof verified, inside their validity window and not revoked, suspended or expired as of the date.",
              "count", 0, None, "credentials issued"),
    SignalDef("credential_skills", "Distinct vocabulary skills evidenced by active verified credentials.", "count", 0,
              None, "active credentials naming a vocabulary skill"),
    SignalDef("skill_breadth", "Distinct vocabulary skills evidenced by completed engagements or active verified credentials.",
              "count", 0, None, "completed engagements and active credentials naming a vocabulary skill"),
    SignalDef("skills_work_and_credential", "Vocabulary skills evidenced both by completed work and by an active verified credential.",
              "count", 0, None, "completed engagements and active credentials naming a vocabulary skill"),
    SignalDef("repeat_engagement_rate", "Share of employers who engaged the candidate more than once.", "ratio", 0, 1,
              "distinct employers"),
    SignalDef("referrals_made", "People the candidate referred.", "count", 0, None, "referral.made events"),
    SignalDef("referrals_received", "Referrals naming the candidate as the person referred.", "count", 0, None,
              "referral.made events naming the candidate"),
    SignalDef("offers_extended", "Offers extended to the candidate by employers of the engagement sources.", "count", 0,
              None, "distinct offers extended"),
    SignalDef("offers_accepted", "Offers the candidate accepted.", "count", 0, None, "distinct offers accepted"),
    SignalDef("placements_started", "Contract-recruiter placements the candidate started.", "count", 0, None,
              "distinct placements started"),
    SignalDef("placements_fell_off", "Contract-recruiter placements that fell off.", "count", 0, None,
              "distinct placements fallen off"),
    SignalDef("days_since_last_activity", "Days from the candidate's last own activity to the end of the as-of date.",
              "days", 0, None, "activity events"),
    SignalDef("active_weeks_90d", "Weeks (7-day buckets counted back from the as-of end) with activity in the last 90 days.",
              "count", 0, 13, "activity events in the window", ACTIVITY_WINDOW_DAYS),
    SignalDef("median_response_hours", "Median hours from an invitation to the candidate's application.", "hours", 0,
              None, "invited applications"),
    SignalDef("signal_score", "Composite score (0-100): weighted sum of the SCORE_COMPONENTS, explained per component.",
              "score_0_100", 0, 100, "components with evidence"),
)

SIGNAL_NAMES = tuple(s.name for s in SIGNALS)
SIGNALS_BY_NAME = {s.name: s for s in SIGNALS}


# --- the composite signal score: the one place its weights live -----------------------------------------------

@dataclass(frozen=True)
class ScoreComponent:
    name: str
    signal: str  # the signal (or signals) the component reads
    weight: float  # points out of 100
    normalisation: str  # how the signal becomes a value in [0, 1]


# Rate components are smoothed toward a neutral prior so that a little evidence moves them a little:
#   (successes + SCORE_RATE_PRIOR_WEIGHT * SCORE_RATE_PRIOR) / (evidence + SCORE_RATE_PRIOR_WEIGHT)
SCORE_RATE_PRIOR = 0.5
SCORE_RATE_PRIOR_WEIGHT = 2.0
SCORE_CAP_CREDENTIALS = 3
SCORE_CAP_OUTCOMES = 3

SCORE_COMPONENTS: tuple[ScoreComponent, ...] = (
    ScoreComponent("quality", "rubric_*", 25,
                   "(mean of the four shrunk rubric dimensions - 1) / 4; the population mean without feedback"),
    ScoreComponent("delivery", "on_time_delivery_rate", 20,
                   "(on time + 2 * 0.5) / (submitted + 2)"),
    ScoreComponent("completion", "completion_rate", 15, "(completed + 2 * 0.5) / (ended + 2)"),
    ScoreComponent("first_pass", "first_pass_approval_rate", 10, "(approved first time + 2 * 0.5) / (reviewed + 2)"),
    ScoreComponent("rehire", "would_rehire_rate", 10, "(would rehire + 2 * 0.5) / (answers + 2)"),
    ScoreComponent("credentials", "active_verified_credentials", 10, "min(active credentials, 3) / 3"),
    ScoreComponent("impact", "impact_outcomes", 5, "min(reported outcomes, 3) / 3"),
    ScoreComponent("activity", "active_weeks_90d", 5, "active weeks in the last 90 days / 13"),
)
SCORE_COMPONENT_NAMES = tuple(c.name for c in SCORE_COMPONENTS)
assert sum(c.weight for c in SCORE_COMPONENTS) == 100


def _schema(*fields: tuple[str, pa.DataType, bool]) -> pa.Schema:
    return pa.schema([pa.field(n, t, nullable=nullable) for n, t, nullable in fields])


CURATED_SCHEMAS: dict[str, pa.Schema] = {
    # One row per candidate and signal, as of a date (long format: new signals need no schema change).
    "candidate_signals": _schema(
        ("as_of_date", pa.date32(), False),
        ("candidate_ref", pa.string(), False),
        ("signal", pa.string(), False),
        ("value", pa.float64(), True),  # null when there is no evidence to compute it from
        ("evidence_count", pa.int64(), False),
        ("window_days", pa.int32(), True),  # null: all history up to the as-of date
        ("feature_version", pa.string(), False),
        # provenance: the versions the value was computed with, and why it is what it is
        ("vocabulary_version", pa.string(), False),
        ("rubric_version", pa.string(), False),
        ("reason", pa.string(), False),  # plain language, e.g. "2 of 3 ended engagements completed."
        ("explanation", pa.string(), True),  # JSON object; per-component contributions for signal_score
    ),
    # One row per engagement and the candidate who started it, as of a date.
    "engagements": _schema(
        ("as_of_date", pa.date32(), False),
        ("engagement_ref", pa.string(), False),
        ("candidate_ref", pa.string(), False),
        ("employer_ref", pa.string(), True),
        ("source", pa.string(), False),
        ("title", pa.string(), True),
        ("category", pa.string(), True),
        ("posted_at", TS, True),
        ("started_at", TS, False),
        ("ended_at", TS, True),
        ("status", pa.string(), False),  # in_progress | completed | cancelled
        ("cancelled_by", pa.string(), True),
        ("deliverables_submitted", pa.int64(), False),
        ("deliverables_on_time", pa.int64(), False),
        ("feedback_count", pa.int64(), False),
        ("mean_rubric_score", pa.float64(), True),
        ("skills", pa.string(), True),  # vocabulary skill_ids of the engagement's scope, comma-separated, sorted
    ),
    # One row per candidate seen in any source, as of a date.
    "candidates": _schema(
        ("as_of_date", pa.date32(), False),
        ("candidate_ref", pa.string(), False),
        ("first_event_at", TS, False),
        ("last_event_at", TS, False),
        ("event_count", pa.int64(), False),
        ("sources", pa.string(), False),  # comma-separated, sorted: portable across warehouses
    ),
}

CURATED_DATASETS = tuple(CURATED_SCHEMAS)
