"""Candidate signals as pure DataFrame -> DataFrame transforms, point-in-time correct.

Input everywhere is the raw-event frame (hiring_signals.contract.raw_schema columns). The job applies
`known_as_of` then `dedupe_events` once and hands the result to the dataset builders:

    events --known_as_of(as_of_end)--> --dedupe_events--> known
    known --engagements(as_of_date)------------------> curated `engagements`
    known --candidates(as_of_date)-------------------> curated `candidates`
    known --candidate_signals(as_of_date, as_of_end)-> curated `candidate_signals` (long: candidate x SIGNALS)

Each builder is `<builder>_from_state(entity_state(known))`: the datasets are derived from the entity state
(section "entity state": folds at natural grains with no as_of_end-relative value), which two event sets'
states can be merged into exactly; spark_jobs.candidate_signals.state builds the incremental job on that.

The SIGNALS catalog (hiring_signals.contract.curated_schema) names every signal with its unit, range and
evidence; spark_jobs/README.md gives each formula. The rules that hold across them:
- Knowledge time: an event is known as of `as_of_end` when it occurred before it *and* was ingested by it
  (`ingested_at` is the end of the ingestion interval that first landed it). Every input below is a function
  of the known events and `as_of_end` only (never the wall clock), so nothing learned later leaks into an
  earlier as-of date, every snapshot can be rebuilt exactly, and a model trained on history never sees the
  future. That includes the population statistics (the rubric prior) and everything time-relative (recency
  weights, credential validity, days since last activity, active weeks).
- Identity: `candidate_ref` is shared across sources (keyed HMAC of the normalised email); engagement_ref and
  employer_ref are namespaced by source ("gig:ct_1"), so per-engagement logic never mixes sources.
- Engagement lifecycle, per (engagement_ref, candidate_ref): started_at = first engagement.started; the
  status comes from the *first* terminal event (engagement.completed / engagement.cancelled, by occurred_at
  then event_id), in_progress without one. Lifecycles can have gaps (a late engagement.started or a missing
  one): terminal events count for the candidate's completion signals even when the start is not known yet;
  the `engagements` dataset lists engagements whose start is known (started_at is required).
- Engagement scope (title, category, skills, employer): the first engagement.posted; for a source that posts
  nothing (the gig platform: its contract offer is an application.decided carrying the scope) the first
  application.decided that carries one. posted_at comes from engagement.posted only.
- Deliverables: each deliverable counts once, judged on its *first* known submission (earliest
  submitted_at, then submission_round, then event_id): a resubmission after `changes_requested` is neither
  a second deliverable nor a late one. On time means submitted_at <= due_at (at the due instant is on time).
  First-pass approval: the deliverable's first review (lowest review_round, then occurred_at) approved it.
- Rubric: an event's score is the mean of its four dimension scores. mean_rubric_score = sum(ints) / (4 * n).
  The per-dimension signals are recency-weighted (w = 0.5 ** (age_days / half_life)) and shrunk toward the
  population mean of the dimension with RUBRIC_PRIOR_WEIGHT pseudo-reviews.
- Credentials: active as of `as_of_end` when the latest credential.issued for (candidate, credential_id)
  has verification_result 'verified', valid_from <= as_of_end < valid_until (validity is half-open: a
  credential whose valid_until equals the as-of instant has expired; open-ended when valid_until is null),
  and the latest known credential.status_changed (if any) is neither revoked, suspended nor expired and
  did not report a failed re-verification. Its skills are those of the latest issue.
- Skills map onto the versioned vocabulary (hiring_signals.contract.vocabulary): names are normalised and
  looked up in a literal map expression; names outside the vocabulary are not evidence.
- Counts are 0 (not null) without evidence; ratios, means, medians and times are null when there is nothing
  to compute them from. The composite `signal_score` is never null (components without evidence take their
  documented prior).

Determinism: reruns over the same input write byte-identical Parquet, whatever the partitioning. Sums that
feed a value are exact: integers where the inputs are integers, and fractional weights are quantised to
1e-9 (QUANTUM) and summed as longs, so no floating-point sum depends on the order rows arrive in. Medians
are exact (`median`), maxima and distinct sets are order-free.

No Python UDFs: payloads are parsed with from_json and the explicit schemas below; skills are mapped with
built-in higher-order functions over a literal map.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from hiring_signals.contract.curated_schema import (
    ACTIVITY_EVENT_TYPES,
    ACTIVITY_WINDOW_DAYS,
    CURATED_SCHEMAS,
    DEFAULT_HALF_LIFE_DAYS,
    FEATURE_VERSION,
    RUBRIC_DIMENSIONS,
    RUBRIC_PRIOR_WEIGHT,
    RUBRIC_VERSION,
    SCORE_CAP_CREDENTIALS,
    SCORE_CAP_OUTCOMES,
    SCORE_COMPONENT_NAMES,
    SCORE_COMPONENTS,
    SCORE_RATE_PRIOR,
    SCORE_RATE_PRIOR_WEIGHT,
    SIGNAL_NAMES,
    SIGNALS_BY_NAME,
)
from hiring_signals.contract.vocabulary import VOCABULARY_VERSION, alias_map

EVENT_KEY = ("source", "event_id")
PAIR_KEY = ("engagement_ref", "candidate_ref")

# Only the payload fields the signals read; from_json ignores the rest and yields null for a field
# that is absent or does not parse as the declared type (timestamps: RFC 3339 / ISO 8601 with offset).
SCOPE_PAYLOAD = "title STRING, category STRING, skills ARRAY<STRING>"
ENDED_PAYLOAD = "cancelled_by STRING"
DELIVERABLE_PAYLOAD = ("deliverable_id STRING, due_at TIMESTAMP, submitted_at TIMESTAMP, submission_round INT, "
                       "outcome STRING, review_round INT")
FEEDBACK_PAYLOAD = ("rubric_id STRING, rubric_version INT, would_rehire BOOLEAN, "
                    "scores STRUCT<quality: INT, communication: INT, timeliness: INT, skill_fit: INT>")
OUTCOME_PAYLOAD = "deliverable_id STRING, metric STRING, baseline DOUBLE, result DOUBLE"
CREDENTIAL_PAYLOAD = ("credential_id STRING, valid_from TIMESTAMP, valid_until TIMESTAMP, verification_result STRING, "
                      "skills ARRAY<STRING>, status STRING")
REFERRAL_PAYLOAD = "referred_candidate_ref STRING"
CANDIDATE_EVENT_PAYLOAD = "offer_id STRING, is_conversion BOOLEAN, invited_at TIMESTAMP"

WITHDRAWN_STATUSES = ("revoked", "suspended", "expired")

US_PER_HOUR = 3_600_000_000
US_PER_DAY = 24 * US_PER_HOUR
US_PER_WEEK = 7 * US_PER_DAY
QUANTUM = 1_000_000_000  # fractional weights and sizes are summed as round(x * QUANTUM) longs: exact, order-free

# Sort keys that make each curated dataset's row order (and so its Parquet bytes) deterministic.
SORT_KEYS: dict[str, tuple[str, ...]] = {
    "candidate_signals": ("candidate_ref", "signal"),
    "engagements": ("engagement_ref", "candidate_ref"),
    "candidates": ("candidate_ref",),
}


@dataclass(frozen=True)
class SignalParams:
    """The tunable inputs of the signal definitions (recorded in the curated manifest and explanations)."""

    half_life_days: float = DEFAULT_HALF_LIFE_DAYS  # HS_SIGNAL_HALF_LIFE_DAYS
    rubric_prior_weight: float = RUBRIC_PRIOR_WEIGHT

    def __post_init__(self):
        if not self.half_life_days > 0 or not self.rubric_prior_weight > 0:
            raise ValueError("half_life_days and rubric_prior_weight must be positive")

    def as_dict(self) -> dict:
        return {"half_life_days": self.half_life_days, "rubric_prior_weight": self.rubric_prior_weight}


# --- knowledge time and de-duplication ------------------------------------------------------------------

def known_as_of(events: DataFrame, as_of_end: datetime) -> DataFrame:
    """Events that had occurred before `as_of_end` and been ingested by it (bitemporal filter)."""
    if as_of_end.tzinfo is None:
        raise ValueError("as_of_end must be timezone-aware (UTC)")
    end = F.lit(as_of_end)
    return events.where((F.col("occurred_at") < end) & (F.col("ingested_at") <= end))


def dedupe_events(events: DataFrame) -> DataFrame:
    """One row per (source, event_id): the earliest ingested delivery wins.

    Ties (same ingested_at) break on batch_id, source_updated_at, occurred_at and payload, so the surviving
    row never depends on partitioning.
    """
    first_delivery = Window.partitionBy(*EVENT_KEY).orderBy(
        F.col("ingested_at").asc(),
        F.col("batch_id").asc(),
        F.col("source_updated_at").asc_nulls_last(),
        F.col("occurred_at").asc(),
        F.col("payload").asc(),
    )
    return (events
            .select("*", F.row_number().over(first_delivery).alias("_delivery"))
            .where(F.col("_delivery") == 1)
            .drop("_delivery"))


# --- payload access and small helpers -------------------------------------------------------------------

def of_type(events: DataFrame, *event_types: str) -> DataFrame:
    return events.where(F.col("event_type").isin(*event_types))


def with_payload(events: DataFrame, payload_schema: str) -> DataFrame:
    """`events` plus `p`, the payload parsed with an explicit schema."""
    return events.select("*", F.from_json(F.col("payload"), payload_schema).alias("p"))


def _pair_events(events: DataFrame, *event_types: str) -> DataFrame:
    """Events of the given types that name both an engagement and a candidate."""
    return of_type(events, *event_types).where(
        F.col("engagement_ref").isNotNull() & F.col("candidate_ref").isNotNull()
    )


def _candidate_events(events: DataFrame, *event_types: str) -> DataFrame:
    return of_type(events, *event_types).where(F.col("candidate_ref").isNotNull())


def _micros(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=timezone.utc)) // (datetime.resolution)


def _count(condition: Column) -> Column:
    return F.count(F.when(condition, F.lit(1)))


def _size(array: Column) -> Column:
    return F.coalesce(F.size(array), F.lit(0))


def _sorted_set(array_of_arrays: Column) -> Column:
    """Distinct elements of a collected list of arrays, sorted (order-free)."""
    return F.array_sort(F.array_distinct(F.flatten(array_of_arrays)))


def _quantised(x: Column) -> Column:
    return F.round(x * F.lit(float(QUANTUM))).cast("long")


def _ratio(numerator: Column, denominator: Column) -> Column:
    return F.try_divide(numerator.cast("double"), denominator.cast("double"))


# --- skills ---------------------------------------------------------------------------------------------

def normalised_skill(name: Column) -> Column:
    """hiring_signals.contract.vocabulary.normalise_skill as a Column: lower case, whitespace collapsed, trimmed."""
    return F.trim(F.lower(F.regexp_replace(name, r"\s+", " ")))


def vocabulary_skills(names: Column) -> Column:
    """array<string> of free-text skill names -> sorted distinct vocabulary skill_ids (empty, never null)."""
    aliases = sorted(alias_map().items())
    vocabulary = F.map_from_arrays(F.lit([a for a, _ in aliases]), F.lit([skill for _, skill in aliases]))
    mapped = F.transform(F.coalesce(names, F.array().cast("array<string>")),
                         lambda name: F.try_element_at(vocabulary, normalised_skill(name)))
    return F.array_sort(F.array_distinct(F.filter(mapped, lambda skill: skill.isNotNull())))


# --- entity state: the folds every dataset is derived from ----------------------------------------------
#
# Each dataset is derived from a few aggregates over the known events at their natural grain (engagement,
# engagement x candidate, deliverable, credential, candidate, ...). None of them holds a value that depends
# on as_of_end: recency weights, validity, active weeks and the population prior are computed from them at
# derivation time. Every keyed table is a fold whose operators are commutative and associative (min, max,
# sum, set union), and the others are append-only rows (one per feedback event or invited application), so
#     fold(rows(A) + rows(B)) == fold(fold(rows(A)) + fold(rows(B)))
# for disjoint event sets A and B: the state of yesterday's events merged with the state of today's new
# events is exactly the state of all of them (spark_jobs.candidate_signals.state builds on this).


@dataclass(frozen=True)
class Fold:
    """How one state table combines: group by `keys`, each column with min | max | sum | set (sorted distinct
    union); no keys means append-only rows."""

    keys: tuple[str, ...]
    columns: tuple[tuple[str, str], ...] = ()


STATE_FOLDS: dict[str, Fold] = {
    "candidate_events": Fold(("candidate_ref",), (
        ("event_count", "sum"), ("first_event_at", "min"), ("last_event_at", "max"), ("sources", "set"),
        ("referrals_made", "sum"), ("offers_extended", "set"), ("offer_conversions", "set"),
        ("offers_accepted", "set"), ("placements_started", "set"), ("placements_fell_off", "set"),
        ("activity_n", "sum"), ("last_activity_us", "max"),
    )),
    # one row per candidate and activity instant; only the last ACTIVITY_WINDOW_DAYS are kept (prune_state)
    "activity": Fold(("candidate_ref", "activity_us"), (("events", "sum"),)),
    "responses": Fold(()),  # one row per invited application answered: the exact median needs every value
    "referrals_received": Fold(("candidate_ref",), (("referrals", "sum"),)),
    "postings": Fold(("engagement_ref",), (("first", "min"), ("posted_at", "min"))),
    "lifecycle": Fold(PAIR_KEY, (("source", "min"), ("employer_ref", "min"), ("started_at", "min"),
                                 ("end", "min"))),
    "deliverables": Fold((*PAIR_KEY, "deliverable_id"), (("s", "min"), ("r", "min"))),
    "feedback": Fold(()),  # one row per feedback event: its recency weight depends on as_of_end
    "outcomes": Fold((*PAIR_KEY, "deliverable_id", "metric"), (("m", "max"),)),
    "credentials": Fold(("candidate_ref", "credential_id"), (("issue", "max"), ("check", "max"))),
}


def fold_rows(rows: DataFrame, fold: Fold, *, folded: bool) -> DataFrame:
    """Combine rows of one state table. `folded` says whether set columns hold arrays (state rows) or
    single values (event rows)."""
    if not fold.keys:
        return rows
    aggregates = []
    for name, how in fold.columns:
        column = F.col(name)
        if how == "min":
            aggregate = F.min(column)
        elif how == "max":
            aggregate = F.max(column)
        elif how == "sum":
            aggregate = F.sum(column).cast("long")
        elif how == "set":
            aggregate = (F.array_sort(F.array_distinct(F.flatten(F.collect_list(column)))) if folded
                         else F.array_sort(F.collect_set(column)))
        else:
            raise ValueError(f"unknown fold {how!r} for {name}")
        aggregates.append(aggregate.alias(name))
    return rows.groupBy(*fold.keys).agg(*aggregates)


def _candidate_event_rows(events: DataFrame) -> DataFrame:
    """Every event naming the candidate, with what the candidates dataset and the referral, offer,
    placement and activity signals read from it."""
    event_type = F.col("event_type")
    parsed = F.when(event_type.isin("offer.extended", "offer.accepted"),
                    F.from_json(F.col("payload"), CANDIDATE_EVENT_PAYLOAD))
    offer = F.coalesce(F.col("p.offer_id"), F.col("event_id"))
    placement = F.coalesce(F.col("engagement_ref"), F.col("event_id"))
    activity = event_type.isin(*ACTIVITY_EVENT_TYPES)

    def flag(condition: Column) -> Column:
        return F.when(condition, F.lit(1)).otherwise(F.lit(0)).cast("long")

    return events.where(F.col("candidate_ref").isNotNull()).select("*", parsed.alias("p")).select(
        F.col("candidate_ref"),
        F.lit(1).cast("long").alias("event_count"),
        F.col("occurred_at").alias("first_event_at"),
        F.col("occurred_at").alias("last_event_at"),
        F.col("source").alias("sources"),
        flag(event_type == "referral.made").alias("referrals_made"),
        F.when(event_type == "offer.extended", offer).alias("offers_extended"),
        F.when((event_type == "offer.extended") & F.coalesce(F.col("p.is_conversion"), F.lit(False)), offer
               ).alias("offer_conversions"),
        F.when(event_type == "offer.accepted", offer).alias("offers_accepted"),
        F.when(event_type == "placement.started", placement).alias("placements_started"),
        F.when(event_type == "placement.fell_off", placement).alias("placements_fell_off"),
        flag(activity).alias("activity_n"),
        F.when(activity, F.unix_micros(F.col("occurred_at"))).alias("last_activity_us"),
    )


def _activity_rows(events: DataFrame) -> DataFrame:
    return _candidate_events(events, *ACTIVITY_EVENT_TYPES).select(
        F.col("candidate_ref"), F.unix_micros(F.col("occurred_at")).alias("activity_us"),
        F.lit(1).cast("long").alias("events"))


def _response_rows(events: DataFrame) -> DataFrame:
    applications = with_payload(_candidate_events(events, "application.submitted"), CANDIDATE_EVENT_PAYLOAD)
    response_us = F.unix_micros(F.col("occurred_at")) - F.unix_micros(F.col("p.invited_at"))
    return applications.where(F.col("p.invited_at").isNotNull() & (response_us >= 0)).select(
        F.col("candidate_ref"), response_us.alias("response_us"))


def _referral_received_rows(events: DataFrame) -> DataFrame:
    referrals = with_payload(of_type(events, "referral.made"), REFERRAL_PAYLOAD).where(
        F.col("p.referred_candidate_ref").isNotNull())
    return referrals.select(F.col("p.referred_candidate_ref").alias("candidate_ref"),
                            F.lit(1).cast("long").alias("referrals"))


def _posting_rows(events: DataFrame) -> DataFrame:
    """Events that carry an engagement's scope: every engagement.posted and the gig platform's contract
    offers (application.decided) that carry a title, category or skills. Posts rank first."""
    scoped = with_payload(
        of_type(events, "engagement.posted", "application.decided").where(F.col("engagement_ref").isNotNull()),
        SCOPE_PAYLOAD,
    )
    is_post = F.col("event_type") == "engagement.posted"
    carries_scope = is_post | F.col("p.title").isNotNull() | F.col("p.category").isNotNull() | (_size("p.skills") > 0)
    return scoped.where(carries_scope).select(
        F.col("engagement_ref"),
        F.struct(
            F.when(is_post, F.lit(0)).otherwise(F.lit(1)).alias("priority"), F.col("occurred_at"),
            F.col("event_id"), F.col("employer_ref"), F.col("p.title").alias("title"),
            F.col("p.category").alias("category"), vocabulary_skills(F.col("p.skills")).alias("skills"),
        ).alias("first"),
        F.when(is_post, F.col("occurred_at")).alias("posted_at"),
    )


def _lifecycle_rows(events: DataFrame) -> DataFrame:
    lifecycle = with_payload(
        _pair_events(events, "engagement.started", "engagement.completed", "engagement.cancelled"), ENDED_PAYLOAD
    )
    is_start = F.col("event_type") == "engagement.started"
    return lifecycle.select(
        *PAIR_KEY, F.col("source"), F.col("employer_ref"),
        F.when(is_start, F.col("occurred_at")).alias("started_at"),
        # min ignores nulls: the fold keeps the first terminal event, if any
        F.when(~is_start, F.struct(
            F.col("occurred_at"), F.col("event_id"), F.col("event_type"),
            F.col("p.cancelled_by").alias("cancelled_by"),
        )).alias("end"),
    )


def _deliverable_event_rows(events: DataFrame) -> DataFrame:
    rows = with_payload(_pair_events(events, "deliverable.submitted", "deliverable.reviewed"), DELIVERABLE_PAYLOAD)
    is_submission = (F.col("event_type") == "deliverable.submitted") & F.col("p.submitted_at").isNotNull() \
        & F.col("p.due_at").isNotNull()
    is_review = (F.col("event_type") == "deliverable.reviewed") & F.col("p.outcome").isNotNull()
    return rows.where(F.col("p.deliverable_id").isNotNull() & (is_submission | is_review)).select(
        *PAIR_KEY, F.col("p.deliverable_id").alias("deliverable_id"),
        F.when(is_submission, F.struct(
            F.col("p.submitted_at").alias("submitted_at"),
            F.coalesce(F.col("p.submission_round"), F.lit(1)).alias("submission_round"),
            F.col("event_id"),
            F.col("p.due_at").alias("due_at"),
        )).alias("s"),
        F.when(is_review, F.struct(
            F.coalesce(F.col("p.review_round"), F.lit(1)).alias("review_round"), F.col("occurred_at"),
            F.col("event_id"), F.col("p.outcome").alias("outcome"),
        )).alias("r"),
    )


def _outcome_event_rows(events: DataFrame) -> DataFrame:
    outcomes = with_payload(_pair_events(events, "outcome.measured"), OUTCOME_PAYLOAD).where(
        F.col("p.deliverable_id").isNotNull() & F.col("p.metric").isNotNull()
        & F.col("p.baseline").isNotNull() & F.col("p.result").isNotNull()
    )
    return outcomes.select(
        *PAIR_KEY, F.col("p.deliverable_id").alias("deliverable_id"), F.col("p.metric").alias("metric"),
        F.struct(F.col("occurred_at"), F.col("event_id"), F.col("p.baseline").alias("baseline"),
                 F.col("p.result").alias("result")).alias("m"),
    )


def _credential_event_rows(events: DataFrame) -> DataFrame:
    rows = with_payload(_candidate_events(events, "credential.issued", "credential.status_changed"),
                        CREDENTIAL_PAYLOAD).where(F.col("p.credential_id").isNotNull())
    is_issue = F.col("event_type") == "credential.issued"
    # a status change known before its issue is kept: it applies as soon as the issue becomes known
    return rows.select(
        F.col("candidate_ref"), F.col("p.credential_id").alias("credential_id"),
        F.when(is_issue, F.struct(
            F.col("occurred_at"), F.col("event_id"), F.col("p.valid_from").alias("valid_from"),
            F.col("p.valid_until").alias("valid_until"), F.col("p.verification_result").alias("verification_result"),
            F.col("p.skills").alias("skills"),
        )).alias("issue"),
        F.when(~is_issue, F.struct(
            F.col("occurred_at"), F.col("event_id"), F.col("p.status").alias("status"),
            F.col("p.verification_result").alias("verification_result"),
        )).alias("check"),
    )


def feedback_scores(events: DataFrame) -> DataFrame:
    """One row per feedback.recorded event: the pair, occurred_at, the four scores (all or nothing: a row
    whose rubric is incomplete has null scores and `complete` false), their integer sum, would_rehire and the
    rubric it was given on ("<rubric_id>@<version>")."""
    feedback = with_payload(_pair_events(events, "feedback.recorded"), FEEDBACK_PAYLOAD)
    scores = [F.col(f"p.scores.{d}") for d in RUBRIC_DIMENSIONS]
    complete = scores[0].isNotNull()
    for score in scores[1:]:
        complete = complete & score.isNotNull()
    total = scores[0]
    for score in scores[1:]:
        total = total + score
    return feedback.select(
        *PAIR_KEY, F.col("event_id"), F.col("occurred_at"),
        F.coalesce(complete, F.lit(False)).alias("complete"),
        *[F.when(complete, score).cast("long").alias(d) for d, score in zip(RUBRIC_DIMENSIONS, scores)],
        F.when(complete, total).cast("long").alias("score_sum"),
        F.col("p.would_rehire").alias("would_rehire"),
        F.concat_ws("@", F.col("p.rubric_id"), F.col("p.rubric_version").cast("string")).alias("rubric"),
    )


STATE_ROWS = {
    "candidate_events": _candidate_event_rows,
    "activity": _activity_rows,
    "responses": _response_rows,
    "referrals_received": _referral_received_rows,
    "postings": _posting_rows,
    "lifecycle": _lifecycle_rows,
    "deliverables": _deliverable_event_rows,
    "feedback": feedback_scores,
    "outcomes": _outcome_event_rows,
    "credentials": _credential_event_rows,
}


def prune_state(state: dict[str, DataFrame], as_of_end: datetime | None) -> dict[str, DataFrame]:
    """Drop activity older than the active-weeks window: as_of_end only moves forward, so it never counts again."""
    if as_of_end is None:
        return state
    horizon = F.lit(_micros(as_of_end) - ACTIVITY_WINDOW_DAYS * US_PER_DAY)
    return {**state, "activity": state["activity"].where(F.col("activity_us") >= horizon)}


def entity_state(events: DataFrame, as_of_end: datetime | None = None) -> dict[str, DataFrame]:
    """The state tables (STATE_FOLDS) of de-duplicated known events; with `as_of_end`, activity is pruned to
    the window that can still count (no effect on any dataset as of `as_of_end` or later)."""
    return prune_state({name: fold_rows(STATE_ROWS[name](events), fold, folded=False)
                        for name, fold in STATE_FOLDS.items()}, as_of_end)


def _merge_table(previous: DataFrame, delta: DataFrame, fold: Fold, broadcast_delta: bool) -> DataFrame:
    """previous + delta folded. Only previous rows whose key the delta touches are re-folded: the others pass
    through, so a small delta costs two scans of the previous table instead of a shuffle of all of it.
    (State keys are never null: every projection filters them, so the equi-joins miss nothing.)"""
    if not fold.keys:
        return previous.unionByName(delta)
    touched = delta.select(*fold.keys)
    if broadcast_delta:
        touched = F.broadcast(touched)
    untouched = previous.join(touched, on=list(fold.keys), how="left_anti")
    affected = previous.join(touched, on=list(fold.keys), how="left_semi")
    return untouched.unionByName(fold_rows(affected.unionByName(delta), fold, folded=True))


def merge_entity_state(previous: dict[str, DataFrame], delta: dict[str, DataFrame],
                       as_of_end: datetime | None = None, *, broadcast_delta: bool = False) -> dict[str, DataFrame]:
    """The state of the union of two disjoint event sets, from their states (`delta` folded, as entity_state
    returns it). `broadcast_delta`: the delta is small enough to broadcast against the previous tables."""
    return prune_state({name: _merge_table(previous[name], delta[name], fold, broadcast_delta)
                        for name, fold in STATE_FOLDS.items()}, as_of_end)


# --- engagements ----------------------------------------------------------------------------------------

def postings_from_state(state: dict[str, DataFrame]) -> DataFrame:
    return state["postings"].select(
        F.col("engagement_ref"),
        F.col("first.employer_ref").alias("posted_employer_ref"),
        F.col("first.title").alias("title"),
        F.col("first.category").alias("category"),
        F.col("first.skills").alias("skills"),
        F.col("posted_at"),
    )


def postings(events: DataFrame) -> DataFrame:
    """One row per engagement with a known scope: employer, title, category, vocabulary skills, posted_at.

    The scope comes from the first engagement.posted; where a source posts nothing (the gig platform), from
    the first application.decided that carries a title, category or skills. posted_at is the first
    engagement.posted (null when only a decision carried the scope).
    """
    return postings_from_state(entity_state(events))


def lifecycle_from_state(state: dict[str, DataFrame]) -> DataFrame:
    status = (F.when(F.col("end.event_type") == "engagement.completed", F.lit("completed"))
              .when(F.col("end.event_type") == "engagement.cancelled", F.lit("cancelled"))
              .otherwise(F.lit("in_progress")))
    return state["lifecycle"].select(
        *PAIR_KEY,
        F.col("source"),
        F.col("employer_ref"),
        F.col("started_at"),
        F.col("end.occurred_at").alias("ended_at"),
        status.alias("status"),
        F.when(status == "cancelled", F.col("end.cancelled_by")).alias("cancelled_by"),
    )


def engagement_lifecycle(events: DataFrame) -> DataFrame:
    """One row per (engagement_ref, candidate_ref) with any lifecycle event, started or not (gaps allowed).

    Columns: engagement_ref, candidate_ref, source, employer_ref, started_at (null when the start is not
    known), ended_at, status (in_progress | completed | cancelled), cancelled_by. The status comes from the
    first terminal event.
    """
    return lifecycle_from_state(entity_state(events))


def engagement_facts_from_state(state: dict[str, DataFrame]) -> DataFrame:
    return lifecycle_from_state(state).join(postings_from_state(state), on="engagement_ref", how="left").select(
        *PAIR_KEY,
        F.col("source"),
        F.coalesce(F.col("posted_employer_ref"), F.col("employer_ref")).alias("employer_ref"),
        F.col("title"),
        F.col("category"),
        F.col("posted_at"),
        F.col("started_at"),
        F.col("ended_at"),
        F.col("status"),
        F.col("cancelled_by"),
        F.coalesce(F.col("skills"), F.array().cast("array<string>")).alias("skills"),
    )


def engagement_facts(events: DataFrame) -> DataFrame:
    """The lifecycle per (engagement, candidate) with its scope: the employer (the posting's, else the one the
    lifecycle events name), title, category, posted_at and vocabulary skills (empty when unknown)."""
    return engagement_facts_from_state(entity_state(events))


def deliverable_facts_from_state(state: dict[str, DataFrame]) -> DataFrame:
    late_us = F.unix_micros(F.col("s.submitted_at")) - F.unix_micros(F.col("s.due_at"))
    return state["deliverables"].select(
        *PAIR_KEY,
        F.col("deliverable_id"),
        F.col("s").isNotNull().alias("submitted"),
        (F.col("s.submitted_at") <= F.col("s.due_at")).alias("on_time"),
        F.greatest(late_us, F.lit(0)).alias("late_us"),
        F.col("r").isNotNull().alias("reviewed"),
        F.coalesce(F.col("r.outcome") == "approved", F.lit(False)).alias("first_pass"),
    )


def deliverable_facts(events: DataFrame) -> DataFrame:
    """One row per (engagement_ref, candidate_ref, deliverable_id) submitted or reviewed, from one aggregation:

    submitted / on_time / late_us (microseconds past due_at, 0 when on time): its *first* known submission
    (earliest submitted_at, then submission_round, event_id); null on_time when no submission is known.
    reviewed / first_pass: whether its first review (lowest review_round, then occurred_at, event_id) approved it.
    """
    return deliverable_facts_from_state(entity_state(events))


def _mean_rubric(score_sum: Column, feedback_count: Column) -> Column:
    """Mean over feedback events of the mean of the four dimensions: sum of all scores / (4 * events)."""
    return F.try_divide(score_sum.cast("double"), (feedback_count * F.lit(len(RUBRIC_DIMENSIONS))).cast("double"))


def _per_pair_counts(state: dict[str, DataFrame]) -> DataFrame:
    """Deliverables and feedback per (engagement, candidate), from one aggregation over both."""
    deliverables = deliverable_facts_from_state(state).select(*PAIR_KEY, F.col("submitted"), F.col("on_time"))
    feedback = state["feedback"].where(F.col("complete")).select(*PAIR_KEY, F.col("score_sum"))
    rows = deliverables.unionByName(feedback, allowMissingColumns=True)
    return rows.groupBy(*PAIR_KEY).agg(
        _count(F.col("submitted")).alias("deliverables_submitted"),
        _count(F.col("on_time")).alias("deliverables_on_time"),
        F.count(F.col("score_sum")).alias("feedback_count"),
        F.sum("score_sum").alias("score_sum"),
    )


def engagements_from_state(state: dict[str, DataFrame], as_of_date: date) -> DataFrame:
    started = engagement_facts_from_state(state).where(F.col("started_at").isNotNull())
    joined = started.join(_per_pair_counts(state), on=list(PAIR_KEY), how="left")
    feedback_count = F.coalesce(F.col("feedback_count"), F.lit(0))
    return conform(joined.select(
        F.lit(as_of_date).alias("as_of_date"),
        *PAIR_KEY,
        F.col("employer_ref"),
        F.col("source"),
        F.col("title"),
        F.col("category"),
        F.col("posted_at"),
        F.col("started_at"),
        F.col("ended_at"),
        F.col("status"),
        F.col("cancelled_by"),
        F.coalesce(F.col("deliverables_submitted"), F.lit(0)).alias("deliverables_submitted"),
        F.coalesce(F.col("deliverables_on_time"), F.lit(0)).alias("deliverables_on_time"),
        feedback_count.alias("feedback_count"),
        _mean_rubric(F.col("score_sum"), feedback_count).alias("mean_rubric_score"),
        F.when(_size("skills") > 0, F.array_join("skills", ",")).alias("skills"),
    ), "engagements")


def engagements(events: DataFrame, as_of_date: date) -> DataFrame:
    """The curated `engagements` dataset: one row per engagement and the candidate who started it."""
    return engagements_from_state(entity_state(events), as_of_date)


# --- candidates -----------------------------------------------------------------------------------------

def candidates_from_state(state: dict[str, DataFrame], as_of_date: date) -> DataFrame:
    return conform(state["candidate_events"].select(
        F.lit(as_of_date).alias("as_of_date"),
        F.col("candidate_ref"),
        F.col("first_event_at"),
        F.col("last_event_at"),
        F.col("event_count"),
        F.array_join(F.col("sources"), ",").alias("sources"),
    ), "candidates")


def candidates(events: DataFrame, as_of_date: date) -> DataFrame:
    """The curated `candidates` dataset: every candidate with at least one known event."""
    return candidates_from_state(entity_state(events), as_of_date)


# --- credentials ----------------------------------------------------------------------------------------

def credential_states_from_state(state: dict[str, DataFrame], as_of_end: datetime) -> DataFrame:
    end = F.lit(as_of_end)
    verified = (F.col("issue.verification_result") == "verified") & (
        F.col("check.verification_result").isNull() | (F.col("check.verification_result") == "verified")
    )
    in_window = (F.col("issue.valid_from") <= end) & (
        F.col("issue.valid_until").isNull() | (F.col("issue.valid_until") > end)
    )
    not_withdrawn = F.col("check.status").isNull() | ~F.col("check.status").isin(*WITHDRAWN_STATUSES)
    return state["credentials"].where(F.col("issue").isNotNull()).select(
        F.col("candidate_ref"),
        F.col("credential_id"),
        F.coalesce(verified & in_window & not_withdrawn, F.lit(False)).alias("active"),
        vocabulary_skills(F.col("issue.skills")).alias("skills"),
    )


def credential_states(events: DataFrame, as_of_end: datetime) -> DataFrame:
    """One row per (candidate_ref, credential_id) issued: whether it is active as of `as_of_end`, and the
    vocabulary skills its latest issue names (latest issue and latest status re-check, by occurred_at)."""
    return credential_states_from_state(entity_state(events), as_of_end)


# --- per-candidate metrics: the wide row every signal is computed from ----------------------------------
#
# Each state table below yields rows keyed by candidate_ref with a `kind`; they are unioned and aggregated
# ONCE by candidate (conditional aggregates), instead of one aggregation and one join per concern: a handful
# of shuffles whatever the number of signals.

def _engagement_rows(facts: DataFrame) -> DataFrame:
    return facts.select(
        F.col("candidate_ref"), F.lit("engagement").alias("kind"),
        F.col("started_at").isNotNull().alias("started"), F.col("status"), F.col("cancelled_by"),
        F.col("employer_ref"), F.col("skills"),
    )


def _deliverable_rows(state: dict[str, DataFrame]) -> DataFrame:
    return deliverable_facts_from_state(state).select(
        F.col("candidate_ref"), F.lit("deliverable").alias("kind"), F.col("submitted"), F.col("on_time"),
        F.col("late_us"), F.col("reviewed"), F.col("first_pass"),
    )


def _feedback_rows(feedback: DataFrame, as_of_end: datetime, params: SignalParams) -> DataFrame:
    age_us = F.lit(_micros(as_of_end)) - F.unix_micros(F.col("occurred_at"))
    weight = F.pow(F.lit(0.5), age_us.cast("double") / F.lit(params.half_life_days * US_PER_DAY))
    return feedback.select(
        F.col("candidate_ref"), F.lit("feedback").alias("kind"), F.col("complete"), F.col("score_sum"),
        *[F.col(d) for d in RUBRIC_DIMENSIONS],
        F.when(F.col("complete"), _quantised(weight)).alias("weight_q"),
        F.col("would_rehire"), F.col("rubric"),
    )


def _outcome_rows(state: dict[str, DataFrame]) -> DataFrame:
    """One row per (engagement, deliverable, metric) with a measured KPI, at its latest measurement."""
    baseline, result = F.abs(F.col("m.baseline")), F.abs(F.col("m.result"))
    change = F.abs(F.col("m.result") - F.col("m.baseline"))
    size = F.when(F.greatest(baseline, result) == 0, F.lit(0.0)).otherwise(change / F.greatest(baseline, result))
    return state["outcomes"].select(F.col("candidate_ref"), F.lit("outcome").alias("kind"),
                                    _quantised(F.least(size, F.lit(1.0))).alias("size_q"))


def _credential_rows(state: dict[str, DataFrame], as_of_end: datetime) -> DataFrame:
    return credential_states_from_state(state, as_of_end).select(
        F.col("candidate_ref"), F.lit("credential").alias("kind"), F.col("active"),
        F.col("skills").alias("credential_skills"),
    )


def _event_rows(state: dict[str, DataFrame]) -> DataFrame:
    """One row per known candidate: their event count and the referral, offer, placement and activity folds."""
    return state["candidate_events"].select(
        F.col("candidate_ref"), F.lit("event").alias("kind"), F.col("event_count"), F.col("referrals_made"),
        *[_size(name).alias(name) for name in ("offers_extended", "offer_conversions", "offers_accepted",
                                               "placements_started", "placements_fell_off")],
        F.col("activity_n"), F.col("last_activity_us"),
    )


def _activity_window_rows(state: dict[str, DataFrame], as_of_end: datetime) -> DataFrame:
    age_us = F.lit(_micros(as_of_end)) - F.col("activity_us")
    return state["activity"].where(age_us <= F.lit(ACTIVITY_WINDOW_DAYS * US_PER_DAY)).select(
        F.col("candidate_ref"), F.lit("activity").alias("kind"), F.col("events").alias("window_events"),
        F.floor(age_us / F.lit(US_PER_WEEK)).alias("week"),
    )


def _state_response_rows(state: dict[str, DataFrame]) -> DataFrame:
    return state["responses"].select(F.col("candidate_ref"), F.lit("response").alias("kind"), F.col("response_us"))


def _referred_rows(state: dict[str, DataFrame]) -> DataFrame:
    return state["referrals_received"].select(F.col("candidate_ref"), F.lit("referred").alias("kind"),
                                              F.col("referrals"))


def _population_metrics(feedback: DataFrame) -> DataFrame:
    """One row: the number of complete reviews known and the integer sum of each dimension (the prior)."""
    return feedback.where(F.col("complete")).agg(
        F.count(F.lit(1)).alias("pop_n"),
        *[F.sum(d).alias(f"pop_sum_{d}") for d in RUBRIC_DIMENSIONS],
    )


def _per_candidate() -> list[Column]:
    """The conditional aggregates over the unioned fact rows, one output column each."""
    kind = F.col("kind")
    engagement, deliverable, feedback, event = (kind == k for k in ("engagement", "deliverable", "feedback", "event"))
    completed = engagement & (F.col("status") == "completed")
    cancelled = engagement & (F.col("status") == "cancelled")
    complete = feedback & F.col("complete")
    employers = F.collect_list(F.when(engagement & F.col("started"), F.col("employer_ref")))
    weight_q = F.col("weight_q")

    def of_events(name: str) -> Column:  # one `event` row per candidate carries the candidate's folds
        return F.sum(F.when(event, F.col(name))).alias(name)

    return [
        F.sum(F.when(event, F.col("event_count"))).alias("known_events"),
        # engagements (per engagement x candidate)
        _count(engagement & F.col("started")).alias("started"),
        _count(completed).alias("completed"),
        _count(cancelled).alias("cancelled"),
        _count(cancelled & (F.col("cancelled_by") == "candidate")).alias("cancelled_by_candidate"),
        _count(completed & (_size("skills") > 0)).alias("work_skill_evidence"),
        _sorted_set(F.collect_list(F.when(completed, F.col("skills")))).alias("work_skills"),
        employers.alias("employer_list"),
        # deliverables (per engagement x candidate x deliverable)
        _count(deliverable & F.col("submitted")).alias("submitted"),
        _count(deliverable & F.col("on_time")).alias("on_time"),
        _count(deliverable & ~F.col("on_time")).alias("late"),
        F.median(F.when(deliverable & ~F.col("on_time"), F.col("late_us"))).alias("median_late_us"),
        _count(deliverable & F.col("reviewed")).alias("reviewed"),
        _count(deliverable & F.col("reviewed") & F.col("first_pass")).alias("first_pass"),
        # feedback (per event)
        _count(complete).alias("feedback_count"),
        F.sum(F.when(complete, F.col("score_sum"))).alias("score_sum"),
        F.sum(F.when(complete, weight_q)).alias("weight_q"),
        *[F.sum(F.when(complete, weight_q * F.col(d))).alias(f"wsum_{d}") for d in RUBRIC_DIMENSIONS],
        _count(feedback & F.col("would_rehire")).alias("rehire_yes"),
        _count(feedback & F.col("would_rehire").isNotNull()).alias("rehire_n"),
        F.array_sort(F.collect_set(F.when(complete, F.col("rubric")))).alias("rubrics"),
        # outcomes (per engagement x deliverable x metric)
        _count(kind == "outcome").alias("outcomes"),
        F.sum(F.when(kind == "outcome", F.col("size_q"))).alias("size_q"),
        # credentials (per credential)
        _count(kind == "credential").alias("credentials_issued"),
        _count((kind == "credential") & F.col("active")).alias("credentials_active"),
        _count((kind == "credential") & F.col("active") & (_size("credential_skills") > 0)).alias(
            "credential_skill_evidence"),
        _sorted_set(F.collect_list(F.when((kind == "credential") & F.col("active"), F.col("credential_skills")))
                    ).alias("credential_skills"),
        # referrals, offers, placements, activity (per candidate folds), responsiveness (per application)
        of_events("referrals_made"),
        F.sum(F.when(kind == "referred", F.col("referrals"))).alias("referrals_received"),
        of_events("offers_extended"),
        of_events("offer_conversions"),
        of_events("offers_accepted"),
        of_events("placements_started"),
        of_events("placements_fell_off"),
        of_events("activity_n"),
        F.max(F.when(event, F.col("last_activity_us"))).alias("last_activity_us"),
        F.sum(F.when(kind == "activity", F.col("window_events"))).alias("activity_window_n"),
        _size(F.collect_set(F.when(kind == "activity", F.col("week")))).alias("active_weeks"),
        F.count(F.when(kind == "response", F.col("response_us"))).alias("responses"),
        F.median(F.when(kind == "response", F.col("response_us"))).alias("median_response_us"),
    ]


COUNT_METRICS = (
    "started", "completed", "cancelled", "cancelled_by_candidate", "work_skill_evidence", "employers",
    "repeat_employers", "submitted", "on_time", "late", "reviewed", "first_pass", "feedback_count", "score_sum",
    "weight_q", *[f"wsum_{d}" for d in RUBRIC_DIMENSIONS], "rehire_yes", "rehire_n", "outcomes", "size_q",
    "credentials_issued", "credentials_active", "credential_skill_evidence", "referrals_made", "referrals_received",
    "offers_extended", "offer_conversions", "offers_accepted", "placements_started", "placements_fell_off",
    "activity_n", "activity_window_n", "active_weeks", "responses",
)
ARRAY_METRICS = ("work_skills", "credential_skills", "rubrics")
NULLABLE_METRICS = ("median_late_us", "last_activity_us", "median_response_us")
POPULATION_METRICS = ("pop_n", *[f"pop_sum_{d}" for d in RUBRIC_DIMENSIONS])


def candidate_metrics_from_state(state: dict[str, DataFrame], as_of_end: datetime,
                                 params: SignalParams = SignalParams()) -> DataFrame:
    """One wide row per known candidate (one with at least one event naming them): the counts, sums and sets
    every signal is computed from (counts 0 and sets empty without evidence), plus the population's rubric sums
    (the same on every row) and as_of_end_us. Every as_of_end-relative quantity is computed here."""
    facts = (
        _event_rows(state)
        .unionByName(_activity_window_rows(state, as_of_end), allowMissingColumns=True)
        .unionByName(_state_response_rows(state), allowMissingColumns=True)
        .unionByName(_engagement_rows(engagement_facts_from_state(state)), allowMissingColumns=True)
        .unionByName(_deliverable_rows(state), allowMissingColumns=True)
        .unionByName(_feedback_rows(state["feedback"], as_of_end, params), allowMissingColumns=True)
        .unionByName(_outcome_rows(state), allowMissingColumns=True)
        .unionByName(_credential_rows(state, as_of_end), allowMissingColumns=True)
        .unionByName(_referred_rows(state), allowMissingColumns=True)
    )
    per_candidate = facts.groupBy("candidate_ref").agg(*_per_candidate()).where(F.col("known_events") > 0)
    # employers who started an engagement with the candidate, and those who did so more than once
    employer_list = F.col("employer_list")
    per_candidate = per_candidate.withColumns({
        "employers": F.size(F.array_distinct(employer_list)),
        "repeat_employers": F.size(F.array_distinct(F.filter(
            employer_list, lambda e: F.size(F.filter(employer_list, lambda other: other == e)) >= 2))),
    })
    joined = per_candidate.crossJoin(F.broadcast(_population_metrics(state["feedback"])))
    empty = F.array().cast("array<string>")
    return joined.select(
        F.col("candidate_ref"),
        *[F.coalesce(F.col(c), F.lit(0)).cast("long").alias(c) for c in COUNT_METRICS],
        *[F.coalesce(F.col(c), empty).alias(c) for c in ARRAY_METRICS],
        *[F.col(c).cast("double").alias(c) for c in NULLABLE_METRICS],
        *[F.coalesce(F.col(c), F.lit(0)).cast("long").alias(c) for c in POPULATION_METRICS],
        F.lit(_micros(as_of_end)).cast("long").alias("as_of_end_us"),
    )


def candidate_metrics(events: DataFrame, as_of_end: datetime, params: SignalParams = SignalParams()) -> DataFrame:
    """candidate_metrics_from_state over the state of `events` (de-duplicated known events)."""
    return candidate_metrics_from_state(entity_state(events, as_of_end), as_of_end, params)


# --- derived quantities shared by several signals --------------------------------------------------------

def _r6(x: Column) -> Column:
    return F.round(x, 6)


def derived_metrics(metrics: DataFrame, params: SignalParams = SignalParams()) -> DataFrame:
    """`candidate_metrics` plus the quantities several signals share, each computed once and named:

    prior_<d> (population mean of rubric dimension d), wmean_<d> (recency-weighted mean), rubric_<d> (shrunk;
    null without feedback), weighted_reviews, skills_any / skills_both, days_since_last_activity,
    and for every SCORE_COMPONENTS entry c: in_<c> (input value), ev_<c> (evidence), norm_<c> (in [0, 1]),
    pts_<c> (points), plus signal_score and score_evidence.
    """
    q, m = F.lit(float(QUANTUM)), F.lit(params.rubric_prior_weight)
    ended = F.col("completed") + F.col("cancelled")
    first = metrics.withColumns({
        **{f"prior_{d}": _ratio(F.col(f"pop_sum_{d}"), F.col("pop_n")) for d in RUBRIC_DIMENSIONS},
        **{f"wmean_{d}": _ratio(F.col(f"wsum_{d}"), F.col("weight_q")) for d in RUBRIC_DIMENSIONS},
        "weighted_reviews": F.col("weight_q").cast("double") / q,
        "ended": ended,
        "skills_any": F.array_sort(F.array_union("work_skills", "credential_skills")),
        "skills_both": F.array_sort(F.array_intersect("work_skills", "credential_skills")),
        "days_since_last_activity": (F.col("as_of_end_us") - F.col("last_activity_us")).cast("double")
        / F.lit(float(US_PER_DAY)),
    })
    second = first.withColumns({
        # A convex combination of scores in [1, 5] is in [1, 5]; clamping only removes floating-point
        # overshoot (all-5 reviews gave 5.000000000000001, which the catalog range and the marts gate reject).
        f"rubric_{d}": F.when(F.col("feedback_count") > 0, F.least(F.greatest(
            (F.col(f"wsum_{d}").cast("double") / q + m * F.col(f"prior_{d}")) / (F.col("weighted_reviews") + m),
            F.lit(1.0)), F.lit(5.0)))
        for d in RUBRIC_DIMENSIONS
    })
    p, w = F.lit(SCORE_RATE_PRIOR), F.lit(SCORE_RATE_PRIOR_WEIGHT)

    def smoothed(successes: str, evidence: str) -> Column:
        return (F.col(successes).cast("double") + w * p) / (F.col(evidence).cast("double") + w)

    def mean_of(prefix: str) -> Column:
        return sum((F.col(f"{prefix}_{d}") for d in RUBRIC_DIMENSIONS[1:]),
                   F.col(f"{prefix}_{RUBRIC_DIMENSIONS[0]}")) / F.lit(float(len(RUBRIC_DIMENSIONS)))

    # (input value, evidence, normalised) per component; the catalogue of weights is SCORE_COMPONENTS
    components = {
        # no feedback: the population mean; no feedback anywhere yet: mid-scale
        "quality": (mean_of("rubric"), F.col("feedback_count"),
                    (F.coalesce(mean_of("rubric"), mean_of("prior"), F.lit(3.0)) - F.lit(1.0)) / F.lit(4.0)),
        "delivery": (_ratio(F.col("on_time"), F.col("submitted")), F.col("submitted"), smoothed("on_time", "submitted")),
        "completion": (_ratio(F.col("completed"), F.col("ended")), F.col("ended"), smoothed("completed", "ended")),
        "first_pass": (_ratio(F.col("first_pass"), F.col("reviewed")), F.col("reviewed"),
                       smoothed("first_pass", "reviewed")),
        "rehire": (_ratio(F.col("rehire_yes"), F.col("rehire_n")), F.col("rehire_n"), smoothed("rehire_yes", "rehire_n")),
        "credentials": (F.col("credentials_active").cast("double"), F.col("credentials_issued"),
                        F.least(F.col("credentials_active"), F.lit(SCORE_CAP_CREDENTIALS)).cast("double")
                        / F.lit(float(SCORE_CAP_CREDENTIALS))),
        "impact": (F.col("outcomes").cast("double"), F.col("outcomes"),
                   F.least(F.col("outcomes"), F.lit(SCORE_CAP_OUTCOMES)).cast("double") / F.lit(float(SCORE_CAP_OUTCOMES))),
        "activity": (F.col("active_weeks").cast("double"), F.col("activity_window_n"),
                     F.col("active_weeks").cast("double") / F.lit(13.0)),
    }
    if set(components) != set(SCORE_COMPONENT_NAMES):
        raise RuntimeError("SCORE_COMPONENTS and derived_metrics() differ")
    third = second.withColumns({
        **{f"in_{c}": v for c, (v, _, _) in components.items()},
        **{f"ev_{c}": e.cast("long") for c, (_, e, _) in components.items()},
        **{f"norm_{c}": n for c, (_, _, n) in components.items()},
    })
    fourth = third.withColumns({f"pts_{c.name}": F.lit(float(c.weight)) * F.col(f"norm_{c.name}")
                                for c in SCORE_COMPONENTS})
    names = SCORE_COMPONENT_NAMES
    return fourth.withColumns({
        "signal_score": sum((F.col(f"pts_{c}") for c in names[1:]), F.col(f"pts_{names[0]}")),
        "score_evidence": sum((F.when(F.col(f"ev_{c}") > 0, F.lit(1)).otherwise(F.lit(0)) for c in names),
                              F.lit(0)).cast("long"),
    })


# --- signals over the derived metrics -------------------------------------------------------------------

@dataclass(frozen=True)
class SignalColumns:
    """How one signal is computed from the columns of `derived_metrics`."""

    value: Column  # double; null when there is nothing to compute it from
    evidence: Column  # long, never null
    reason: Column  # plain-language string, never null
    explanation: Column | None = None  # JSON string, or None for signals the reason fully explains


def _fmt(template: str, *args: Column) -> Column:
    return F.format_string(template, *args)


def _json(**fields: Column) -> Column:
    return F.to_json(F.struct(*[c.alias(k) for k, c in fields.items()]), {"ignoreNullFields": "false"})


def _count_signal(metric: str, one: str, many: str) -> SignalColumns:
    n = F.col(metric)
    return SignalColumns(n.cast("double"), n, _fmt("%d %s.", n, F.when(n == 1, F.lit(one)).otherwise(F.lit(many))))


def _ratio_signal(numerator: str, denominator: str, what: str, of: str, none: str) -> SignalColumns:
    value = _ratio(F.col(numerator), F.col(denominator))
    reason = F.when(F.col(denominator) > 0, _fmt(f"%d of %d {of} {what} (%.0f%%).", F.col(numerator),
                                                 F.col(denominator), value * F.lit(100.0))).otherwise(F.lit(none))
    return SignalColumns(value, F.col(denominator), reason)


def _listed(skills: str) -> Column:
    return F.when(_size(skills) > 0, F.array_join(skills, ", ")).otherwise(F.lit("none"))


def _rubric_signal(d: str, params: SignalParams) -> SignalColumns:
    n = F.col("feedback_count")
    label = d.replace("_", " ")
    reason = F.when(n > 0, _fmt(
        f"{label.capitalize()} %.2f of 5: %d review(s) averaging %.2f, recency-weighted (half-life "
        f"{params.half_life_days:g} days) to the weight of %.2f fresh review(s), shrunk toward the population mean "
        f"%.2f with a prior worth {params.rubric_prior_weight:g} reviews.",
        F.col(f"rubric_{d}"), n, F.col(f"wmean_{d}"), F.col("weighted_reviews"), F.col(f"prior_{d}"),
    )).otherwise(F.lit(f"No mentor feedback yet, so no {label} score."))
    explanation = F.when(n > 0, _json(
        weighted_mean=_r6(F.col(f"wmean_{d}")),
        weighted_reviews=_r6(F.col("weighted_reviews")),
        prior_mean=_r6(F.col(f"prior_{d}")),
        prior_weight=F.lit(float(params.rubric_prior_weight)),
        half_life_days=F.lit(float(params.half_life_days)),
        rubrics=F.col("rubrics"),
    ))
    return SignalColumns(F.col(f"rubric_{d}"), n, reason, explanation)


def _score_signal() -> SignalColumns:
    explanation = _json(**{
        c.name: F.struct(
            F.lit(c.signal).alias("signal"),
            _r6(F.col(f"in_{c.name}")).alias("value"),
            F.col(f"ev_{c.name}").alias("evidence"),
            _r6(F.col(f"norm_{c.name}")).alias("normalised"),
            F.lit(float(c.weight)).alias("weight"),
            _r6(F.col(f"pts_{c.name}")).alias("points"),
        )
        for c in SCORE_COMPONENTS
    })
    # strongest: most points; weakest: most points short of the weight; ties broken by component name
    def ranked(key) -> Column:
        return F.sort_array(F.array(*[
            F.struct(key(c).alias("k"), F.lit(c.name.replace("_", " ")).alias("name"),
                     F.col(f"pts_{c.name}").alias("points"), F.lit(float(c.weight)).alias("weight"))
            for c in SCORE_COMPONENTS
        ]))
    by_points = ranked(lambda c: -F.col(f"pts_{c.name}"))
    by_gap = ranked(lambda c: F.col(f"pts_{c.name}") - F.lit(float(c.weight)))
    first, second, weakest = by_points[0], by_points[1], by_gap[0]
    reason = _fmt(
        "Score %.1f of 100 from %d of %d components with evidence (the others count at their prior). "
        "Strongest: %s %.1f of %.0f points, %s %.1f of %.0f. Weakest: %s %.1f of %.0f.",
        F.col("signal_score"), F.col("score_evidence"), F.lit(len(SCORE_COMPONENTS)),
        first["name"], first["points"], first["weight"], second["name"], second["points"], second["weight"],
        weakest["name"], weakest["points"], weakest["weight"],
    )
    return SignalColumns(F.col("signal_score"), F.col("score_evidence"), reason, explanation)


def signal_columns(params: SignalParams = SignalParams()) -> dict[str, SignalColumns]:
    """How every signal in SIGNALS is computed from the columns of `derived_metrics`."""
    late_days = F.col("median_late_us") / F.lit(float(US_PER_DAY))
    response_hours = F.col("median_response_us") / F.lit(float(US_PER_HOUR))
    impact_size = F.try_divide(F.col("size_q").cast("double"), F.col("outcomes").cast("double") * F.lit(float(QUANTUM)))
    mean_rubric = _mean_rubric(F.col("score_sum"), F.col("feedback_count"))
    return {
        "engagements_started": _count_signal("started", "engagement started", "engagements started"),
        "engagements_completed": _count_signal("completed", "engagement completed", "engagements completed"),
        "completion_rate": _ratio_signal("completed", "ended", "completed", "ended engagements",
                                         "No engagement has ended yet."),
        "cancellation_rate": _ratio_signal("cancelled_by_candidate", "ended", "cancelled by the candidate",
                                           "ended engagements", "No engagement has ended yet."),
        "on_time_delivery_rate": _ratio_signal("on_time", "submitted", "submitted by the due date", "deliverables",
                                               "No deliverable submitted yet."),
        "median_days_late": SignalColumns(
            late_days, F.col("late"),
            F.when(F.col("late") > 0, _fmt("%d late deliverable(s), a median %.1f days late.", F.col("late"), late_days))
            .otherwise(F.lit("No deliverable was late."))),
        "first_pass_approval_rate": _ratio_signal("first_pass", "reviewed", "approved at the first review",
                                                  "reviewed deliverables", "No deliverable reviewed yet."),
        "mean_rubric_score": SignalColumns(
            mean_rubric, F.col("feedback_count"),
            F.when(F.col("feedback_count") > 0, _fmt("Mean rubric score %.2f of 5 over %d review(s).", mean_rubric,
                                                     F.col("feedback_count")))
            .otherwise(F.lit("No mentor feedback yet."))),
        **{f"rubric_{d}": _rubric_signal(d, params) for d in RUBRIC_DIMENSIONS},
        "would_rehire_rate": _ratio_signal("rehire_yes", "rehire_n", "would hire again", "reviewers",
                                           "No reviewer has said whether they would hire again."),
        "impact_outcomes": _count_signal("outcomes", "reported KPI outcome", "reported KPI outcomes"),
        "impact_size": SignalColumns(
            impact_size, F.col("outcomes"),
            F.when(F.col("outcomes") > 0, _fmt("%d KPI outcome(s) with a mean normalised change of %.2f.",
                                               F.col("outcomes"), impact_size))
            .otherwise(F.lit("No KPI outcome reported yet."))),
        "active_verified_credentials": SignalColumns(
            F.col("credentials_active").cast("double"), F.col("credentials_issued"),
            _fmt("%d of %d credential(s) verified and active as of the date.", F.col("credentials_active"),
                 F.col("credentials_issued"))),
        "credential_skills": SignalColumns(
            _size("credential_skills").cast("double"), F.col("credential_skill_evidence"),
            _fmt("%d skill(s) evidenced by active verified credentials: %s.", _size("credential_skills"),
                 _listed("credential_skills")),
            _json(skills=F.col("credential_skills"))),
        "skill_breadth": SignalColumns(
            _size("skills_any").cast("double"), F.col("work_skill_evidence") + F.col("credential_skill_evidence"),
            _fmt("%d skill(s) with evidence from completed work or active credentials: %s.", _size("skills_any"),
                 _listed("skills_any")),
            _json(skills=F.col("skills_any"), work=F.col("work_skills"), credentials=F.col("credential_skills"))),
        "skills_work_and_credential": SignalColumns(
            _size("skills_both").cast("double"), F.col("work_skill_evidence") + F.col("credential_skill_evidence"),
            _fmt("%d skill(s) evidenced by both completed work and an active credential: %s.", _size("skills_both"),
                 _listed("skills_both")),
            _json(skills=F.col("skills_both"))),
        "repeat_engagement_rate": _ratio_signal("repeat_employers", "employers", "engaged them more than once",
                                                "employers", "No employer has engaged the candidate yet."),
        "referrals_made": _count_signal("referrals_made", "referral made", "referrals made"),
        "referrals_received": _count_signal("referrals_received", "referral received", "referrals received"),
        "offers_extended": SignalColumns(
            F.col("offers_extended").cast("double"), F.col("offers_extended"),
            _fmt("%d offer(s) extended, %d of them converting a micro-engagement.", F.col("offers_extended"),
                 F.col("offer_conversions")),
            _json(conversions=F.col("offer_conversions"))),
        "offers_accepted": _count_signal("offers_accepted", "offer accepted", "offers accepted"),
        "placements_started": _count_signal("placements_started", "recruiter placement started",
                                            "recruiter placements started"),
        "placements_fell_off": _count_signal("placements_fell_off", "recruiter placement fell off",
                                             "recruiter placements fell off"),
        "days_since_last_activity": SignalColumns(
            F.col("days_since_last_activity"), F.col("activity_n"),
            F.when(F.col("activity_n") > 0, _fmt("Last own activity %.1f days before the end of the as-of date.",
                                                 F.col("days_since_last_activity")))
            .otherwise(F.lit("No activity of the candidate's own yet."))),
        "active_weeks_90d": SignalColumns(
            F.col("active_weeks").cast("double"), F.col("activity_window_n"),
            _fmt(f"Active in %d of the last 13 weeks (%d activity event(s) in the last {ACTIVITY_WINDOW_DAYS} days).",
                 F.col("active_weeks"), F.col("activity_window_n"))),
        "median_response_hours": SignalColumns(
            response_hours, F.col("responses"),
            F.when(F.col("responses") > 0, _fmt("Answered %d invitation(s) in a median %.1f hours.", F.col("responses"),
                                                response_hours))
            .otherwise(F.lit("No invitation answered yet."))),
        "signal_score": _score_signal(),
    }


def candidate_signals(events: DataFrame, as_of_date: date, as_of_end: datetime,
                      params: SignalParams = SignalParams()) -> DataFrame:
    """The curated `candidate_signals` dataset, long format: one row per known candidate and signal."""
    return candidate_signals_from_state(entity_state(events, as_of_end), as_of_date, as_of_end, params)


def candidate_signals_from_state(state: dict[str, DataFrame], as_of_date: date, as_of_end: datetime,
                                 params: SignalParams = SignalParams()) -> DataFrame:
    """candidate_signals from the entity state (entity_state / merge_entity_state)."""
    columns = signal_columns(params)
    if set(columns) != set(SIGNAL_NAMES):
        raise RuntimeError(f"signal catalog and implementation differ: {sorted(set(columns) ^ set(SIGNAL_NAMES))}")
    no_explanation = F.lit(None).cast("string")
    rows = F.array(*[
        F.struct(
            F.lit(name).alias("signal"),
            columns[name].value.cast("double").alias("value"),
            columns[name].evidence.cast("long").alias("evidence_count"),
            columns[name].reason.alias("reason"),
            (no_explanation if columns[name].explanation is None else columns[name].explanation).alias("explanation"),
        )
        for name in SIGNAL_NAMES
    ])
    windows = F.create_map(*[F.lit(x) for s in SIGNAL_NAMES if SIGNALS_BY_NAME[s].window_days is not None
                             for x in (s, SIGNALS_BY_NAME[s].window_days)])
    metrics = derived_metrics(candidate_metrics_from_state(state, as_of_end, params), params)
    long = metrics.select(F.col("candidate_ref"), F.explode(rows).alias("s"))
    return conform(long.select(
        F.lit(as_of_date).alias("as_of_date"),
        F.col("candidate_ref"),
        F.col("s.signal").alias("signal"),
        F.col("s.value").alias("value"),
        F.col("s.evidence_count").alias("evidence_count"),
        F.try_element_at(windows, F.col("s.signal")).alias("window_days"),
        F.lit(FEATURE_VERSION).alias("feature_version"),
        F.lit(VOCABULARY_VERSION).alias("vocabulary_version"),
        F.lit(RUBRIC_VERSION).alias("rubric_version"),
        F.col("s.reason").alias("reason"),
        F.col("s.explanation").alias("explanation"),
    ), "candidate_signals")


# --- output contract ------------------------------------------------------------------------------------

def conform(frame: DataFrame, dataset: str) -> DataFrame:
    """Exactly the curated dataset's columns, in contract order, cast to the contract's types."""
    fields = from_arrow_schema(CURATED_SCHEMAS[dataset]).fields
    return frame.select(*[F.col(f.name).cast(f.dataType).alias(f.name) for f in fields])
