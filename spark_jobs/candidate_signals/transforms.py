"""Candidate signals as pure DataFrame -> DataFrame transforms, point-in-time correct.

Input everywhere is the raw-event frame (hiring_signals.contract.raw_schema columns). The job applies
`known_as_of` then `dedupe_events` once and hands the result to the dataset builders:

    events --known_as_of(as_of_end)--> --dedupe_events--> known
    known --engagements(as_of_date)-------> curated `engagements`
    known --candidates(as_of_date)--------> curated `candidates`
    known --candidate_signals(as_of_date)-> curated `candidate_signals` (long: candidate x SIGNALS)

Definitions (the SIGNALS catalog in hiring_signals.contract.curated_schema says them in one line each):
- Knowledge time: an event is known as of `as_of_end` when it occurred before it *and* was ingested by it
  (`ingested_at` is the end of the ingestion interval that first landed it). Nothing learned later leaks
  into an earlier as-of date, so every snapshot can be rebuilt exactly and a model trained on history
  never sees the future.
- Engagement lifecycle, per (engagement_ref, candidate_ref): started_at = first engagement.started; the
  status comes from the *first* terminal event (engagement.completed / engagement.cancelled, by
  occurred_at then event_id), in_progress without one. Lifecycles can have gaps (a late engagement.started
  or a missing one): terminal events count for the candidate's completion signals even when the start is
  not known yet; the `engagements` dataset lists engagements whose start is known (started_at is required).
- Deliverables: each deliverable counts once, judged on its *first* known submission (earliest
  submitted_at, then submission_round, then event_id): a resubmission after `changes_requested` is neither
  a second deliverable nor a late one. On time means submitted_at <= due_at (at the due instant is on time).
- Rubric: an event's score is the mean of its four dimension scores; averages are computed as
  sum(ints) / (4 * n), one division, so they are exact and independent of partitioning (byte-identical
  reruns).
- Credentials: active as of `as_of_end` when the latest credential.issued for (candidate, credential_id)
  has verification_result 'verified', valid_from <= as_of_end < valid_until (validity is half-open: a
  credential whose valid_until equals the as-of instant has expired; open-ended when valid_until is null),
  and the latest known credential.status_changed (if any) is neither revoked, suspended nor expired and
  did not report a failed re-verification. Evidence: distinct credentials issued.
- Counts are 0 (not null) without evidence; ratios and means are null when their denominator is 0.

No Python UDFs: payloads are parsed with from_json and the explicit schemas below.
"""

from __future__ import annotations

from datetime import date, datetime

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from hiring_signals.contract.curated_schema import CURATED_SCHEMAS, FEATURE_VERSION, SIGNAL_NAMES

EVENT_KEY = ("source", "event_id")
PAIR_KEY = ("engagement_ref", "candidate_ref")

# Only the payload fields the signals read; from_json ignores the rest and yields null for a field
# that is absent or does not parse as the declared type (timestamps: RFC 3339 / ISO 8601 with offset).
POSTED_PAYLOAD = "title STRING, category STRING"
ENDED_PAYLOAD = "cancelled_by STRING"
SUBMITTED_PAYLOAD = "deliverable_id STRING, due_at TIMESTAMP, submitted_at TIMESTAMP, submission_round INT"
FEEDBACK_PAYLOAD = "scores STRUCT<quality: INT, communication: INT, timeliness: INT, skill_fit: INT>"
ISSUED_PAYLOAD = "credential_id STRING, valid_from TIMESTAMP, valid_until TIMESTAMP, verification_result STRING"
STATUS_PAYLOAD = "credential_id STRING, status STRING, verification_result STRING"

WITHDRAWN_STATUSES = ("revoked", "suspended", "expired")
RUBRIC_DIMENSIONS = ("quality", "communication", "timeliness", "skill_fit")

# Sort keys that make each curated dataset's row order (and so its Parquet bytes) deterministic.
SORT_KEYS: dict[str, tuple[str, ...]] = {
    "candidate_signals": ("candidate_ref", "signal"),
    "engagements": ("engagement_ref", "candidate_ref"),
    "candidates": ("candidate_ref",),
}


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


# --- payload access -------------------------------------------------------------------------------------

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


# --- engagements ----------------------------------------------------------------------------------------

def postings(events: DataFrame) -> DataFrame:
    """One row per posted engagement: its first known engagement.posted (employer, title, category)."""
    posted = with_payload(
        of_type(events, "engagement.posted").where(F.col("engagement_ref").isNotNull()), POSTED_PAYLOAD
    )
    first = F.min(F.struct(
        F.col("occurred_at"), F.col("event_id"), F.col("employer_ref"), F.col("p.title").alias("title"),
        F.col("p.category").alias("category"),
    )).alias("first")
    return posted.groupBy("engagement_ref").agg(first).select(
        F.col("engagement_ref"),
        F.col("first.employer_ref").alias("posted_employer_ref"),
        F.col("first.title").alias("title"),
        F.col("first.category").alias("category"),
        F.col("first.occurred_at").alias("posted_at"),
    )


def engagement_lifecycle(events: DataFrame) -> DataFrame:
    """One row per (engagement_ref, candidate_ref) with any lifecycle event, started or not (gaps allowed).

    Columns: engagement_ref, candidate_ref, source, employer_ref, started_at (null when the start is not
    known), ended_at, status (in_progress | completed | cancelled), cancelled_by.
    """
    lifecycle = with_payload(
        _pair_events(events, "engagement.started", "engagement.completed", "engagement.cancelled"), ENDED_PAYLOAD
    )
    is_start = F.col("event_type") == "engagement.started"
    terminal = F.when(~is_start, F.struct(
        F.col("occurred_at"), F.col("event_id"), F.col("event_type"), F.col("p.cancelled_by").alias("cancelled_by"),
    ))
    per_pair = lifecycle.groupBy(*PAIR_KEY).agg(
        F.min("source").alias("source"),
        F.min("employer_ref").alias("employer_ref"),
        F.min(F.when(is_start, F.col("occurred_at"))).alias("started_at"),
        F.min(terminal).alias("end"),  # min ignores nulls: the first terminal event, if any
    )
    status = (F.when(F.col("end.event_type") == "engagement.completed", F.lit("completed"))
              .when(F.col("end.event_type") == "engagement.cancelled", F.lit("cancelled"))
              .otherwise(F.lit("in_progress")))
    return per_pair.select(
        *PAIR_KEY,
        F.col("source"),
        F.col("employer_ref"),
        F.col("started_at"),
        F.col("end.occurred_at").alias("ended_at"),
        status.alias("status"),
        F.when(status == "cancelled", F.col("end.cancelled_by")).alias("cancelled_by"),
    )


def first_submissions(events: DataFrame) -> DataFrame:
    """One row per (engagement_ref, candidate_ref, deliverable_id): its first known submission and on_time."""
    submissions = with_payload(_pair_events(events, "deliverable.submitted"), SUBMITTED_PAYLOAD).where(
        F.col("p.deliverable_id").isNotNull() & F.col("p.submitted_at").isNotNull() & F.col("p.due_at").isNotNull()
    )
    first = F.min(F.struct(
        F.col("p.submitted_at").alias("submitted_at"),
        F.coalesce(F.col("p.submission_round"), F.lit(1)).alias("submission_round"),
        F.col("event_id"),
        F.col("p.due_at").alias("due_at"),
    )).alias("first")
    return submissions.groupBy(*PAIR_KEY, F.col("p.deliverable_id").alias("deliverable_id")).agg(first).select(
        *PAIR_KEY,
        F.col("deliverable_id"),
        F.col("first.submitted_at").alias("submitted_at"),
        F.col("first.due_at").alias("due_at"),
        (F.col("first.submitted_at") <= F.col("first.due_at")).alias("on_time"),
    )


def feedback_scores(events: DataFrame) -> DataFrame:
    """One row per feedback.recorded event with all four scores: the pair and the scores' integer sum."""
    feedback = with_payload(_pair_events(events, "feedback.recorded"), FEEDBACK_PAYLOAD)
    scores = [F.col(f"p.scores.{d}") for d in RUBRIC_DIMENSIONS]
    complete = scores[0].isNotNull()
    for score in scores[1:]:
        complete = complete & score.isNotNull()
    total = scores[0]
    for score in scores[1:]:
        total = total + score
    return feedback.where(complete).select(*PAIR_KEY, F.col("event_id"), total.cast("long").alias("score_sum"))


def _mean_rubric(score_sum: Column, feedback_count: Column) -> Column:
    """Mean over feedback events of the mean of the four dimensions: sum of all scores / (4 * events)."""
    return F.try_divide(score_sum.cast("double"), (feedback_count * F.lit(len(RUBRIC_DIMENSIONS))).cast("double"))


def _deliverables_per_pair(events: DataFrame) -> DataFrame:
    return first_submissions(events).groupBy(*PAIR_KEY).agg(
        F.count(F.lit(1)).alias("deliverables_submitted"),
        F.count(F.when(F.col("on_time"), F.lit(1))).alias("deliverables_on_time"),
    )


def _feedback_per_pair(events: DataFrame) -> DataFrame:
    return feedback_scores(events).groupBy(*PAIR_KEY).agg(
        F.count(F.lit(1)).alias("feedback_count"),
        F.sum("score_sum").alias("score_sum"),
    )


def engagements(events: DataFrame, as_of_date: date) -> DataFrame:
    """The curated `engagements` dataset: one row per engagement and the candidate who started it."""
    started = engagement_lifecycle(events).where(F.col("started_at").isNotNull())
    joined = (started
              .join(postings(events), on="engagement_ref", how="left")
              .join(_deliverables_per_pair(events), on=list(PAIR_KEY), how="left")
              .join(_feedback_per_pair(events), on=list(PAIR_KEY), how="left"))
    feedback_count = F.coalesce(F.col("feedback_count"), F.lit(0))
    return conform(joined.select(
        F.lit(as_of_date).alias("as_of_date"),
        *PAIR_KEY,
        F.coalesce(F.col("posted_employer_ref"), F.col("employer_ref")).alias("employer_ref"),
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
    ), "engagements")


# --- candidates -----------------------------------------------------------------------------------------

def candidates(events: DataFrame, as_of_date: date) -> DataFrame:
    """The curated `candidates` dataset: every candidate with at least one known event."""
    per_candidate = events.where(F.col("candidate_ref").isNotNull()).groupBy("candidate_ref").agg(
        F.min("occurred_at").alias("first_event_at"),
        F.max("occurred_at").alias("last_event_at"),
        F.count(F.lit(1)).alias("event_count"),
        F.array_join(F.array_sort(F.collect_set("source")), ",").alias("sources"),
    )
    return conform(per_candidate.select(
        F.lit(as_of_date).alias("as_of_date"),
        F.col("candidate_ref"),
        F.col("first_event_at"),
        F.col("last_event_at"),
        F.col("event_count"),
        F.col("sources"),
    ), "candidates")


# --- credentials ----------------------------------------------------------------------------------------

def credential_states(events: DataFrame, as_of_end: datetime) -> DataFrame:
    """One row per (candidate_ref, credential_id) issued: whether it is active as of `as_of_end`."""
    issued = with_payload(
        of_type(events, "credential.issued").where(F.col("candidate_ref").isNotNull()), ISSUED_PAYLOAD
    ).where(F.col("p.credential_id").isNotNull())
    latest_issue = issued.groupBy("candidate_ref", F.col("p.credential_id").alias("credential_id")).agg(
        F.max(F.struct(
            F.col("occurred_at"), F.col("event_id"), F.col("p.valid_from").alias("valid_from"),
            F.col("p.valid_until").alias("valid_until"), F.col("p.verification_result").alias("verification_result"),
        )).alias("issue")
    )
    checks = with_payload(
        of_type(events, "credential.status_changed").where(F.col("candidate_ref").isNotNull()), STATUS_PAYLOAD
    ).where(F.col("p.credential_id").isNotNull())
    latest_check = checks.groupBy("candidate_ref", F.col("p.credential_id").alias("credential_id")).agg(
        F.max(F.struct(
            F.col("occurred_at"), F.col("event_id"), F.col("p.status").alias("status"),
            F.col("p.verification_result").alias("verification_result"),
        )).alias("check")
    )
    end = F.lit(as_of_end)
    verified = (F.col("issue.verification_result") == "verified") & (
        F.col("check.verification_result").isNull() | (F.col("check.verification_result") == "verified")
    )
    in_window = (F.col("issue.valid_from") <= end) & (
        F.col("issue.valid_until").isNull() | (F.col("issue.valid_until") > end)
    )
    not_withdrawn = F.col("check.status").isNull() | ~F.col("check.status").isin(*WITHDRAWN_STATUSES)
    return latest_issue.join(latest_check, on=["candidate_ref", "credential_id"], how="left").select(
        F.col("candidate_ref"),
        F.col("credential_id"),
        F.coalesce(verified & in_window & not_withdrawn, F.lit(False)).alias("active"),
    )


# --- candidate signals ----------------------------------------------------------------------------------

def candidate_metrics(events: DataFrame, as_of_end: datetime) -> DataFrame:
    """One wide row per known candidate: the counts every signal is computed from (0 without evidence)."""
    lifecycle = engagement_lifecycle(events).groupBy("candidate_ref").agg(
        F.count(F.when(F.col("started_at").isNotNull(), F.lit(1))).alias("started"),
        F.count(F.when(F.col("status") == "completed", F.lit(1))).alias("completed"),
        F.count(F.when(F.col("status") == "cancelled", F.lit(1))).alias("cancelled"),
    )
    deliveries = first_submissions(events).groupBy("candidate_ref").agg(
        F.count(F.lit(1)).alias("submitted"),
        F.count(F.when(F.col("on_time"), F.lit(1))).alias("on_time"),
    )
    feedback = feedback_scores(events).groupBy("candidate_ref").agg(
        F.count(F.lit(1)).alias("feedback_count"),
        F.sum("score_sum").alias("score_sum"),
    )
    credentials = credential_states(events, as_of_end).groupBy("candidate_ref").agg(
        F.count(F.lit(1)).alias("credentials_issued"),
        F.count(F.when(F.col("active"), F.lit(1))).alias("credentials_active"),
    )
    known = events.where(F.col("candidate_ref").isNotNull()).select("candidate_ref").distinct()
    joined = known
    for part in (lifecycle, deliveries, feedback, credentials):
        joined = joined.join(part, on="candidate_ref", how="left")
    counts = ("started", "completed", "cancelled", "submitted", "on_time", "feedback_count", "score_sum",
              "credentials_issued", "credentials_active")
    return joined.select(
        F.col("candidate_ref"), *[F.coalesce(F.col(c), F.lit(0)).cast("long").alias(c) for c in counts]
    )


def signal_columns() -> dict[str, tuple[Column, Column]]:
    """(value, evidence_count) per signal, over the columns of `candidate_metrics`."""
    ended = F.col("completed") + F.col("cancelled")
    return {
        "engagements_started": (F.col("started").cast("double"), F.col("started")),
        "engagements_completed": (F.col("completed").cast("double"), F.col("completed")),
        "completion_rate": (F.try_divide(F.col("completed").cast("double"), ended.cast("double")), ended),
        "on_time_delivery_rate": (
            F.try_divide(F.col("on_time").cast("double"), F.col("submitted").cast("double")), F.col("submitted")
        ),
        "mean_rubric_score": (_mean_rubric(F.col("score_sum"), F.col("feedback_count")), F.col("feedback_count")),
        "active_verified_credentials": (F.col("credentials_active").cast("double"), F.col("credentials_issued")),
    }


def candidate_signals(events: DataFrame, as_of_date: date, as_of_end: datetime) -> DataFrame:
    """The curated `candidate_signals` dataset, long format: one row per known candidate and signal."""
    columns = signal_columns()
    if set(columns) != set(SIGNAL_NAMES):
        raise RuntimeError(f"signal catalog and implementation differ: {sorted(set(columns) ^ set(SIGNAL_NAMES))}")
    rows = F.array(*[
        F.struct(F.lit(name).alias("signal"), value.alias("value"), evidence.alias("evidence_count"))
        for name, (value, evidence) in ((n, columns[n]) for n in SIGNAL_NAMES)
    ])
    long = candidate_metrics(events, as_of_end).select(F.col("candidate_ref"), F.explode(rows).alias("s"))
    return conform(long.select(
        F.lit(as_of_date).alias("as_of_date"),
        F.col("candidate_ref"),
        F.col("s.signal").alias("signal"),
        F.col("s.value").alias("value"),
        F.col("s.evidence_count").alias("evidence_count"),
        F.lit(None).alias("window_days"),  # all history up to the as-of date
        F.lit(FEATURE_VERSION).alias("feature_version"),
    ), "candidate_signals")


# --- output contract ------------------------------------------------------------------------------------

def conform(frame: DataFrame, dataset: str) -> DataFrame:
    """Exactly the curated dataset's columns, in contract order, cast to the contract's types."""
    fields = from_arrow_schema(CURATED_SCHEMAS[dataset]).fields
    return frame.select(*[F.col(f.name).cast(f.dataType).alias(f.name) for f in fields])
