"""A DuckDB SQL reference for the curated `candidate_signals`: every signal's value and evidence count.

Written from the rules in spark_jobs/candidate_signals/transforms.py (docstring) and spark_jobs/README.md, in a
deliberately different shape (one aggregate per concern joined by candidate, where Spark unions fact rows and
aggregates once), so agreement between the two is evidence that both implement the rules, not that one was
transliterated from the other. Reasons and explanations are not reproduced (plain-language text; the values
and evidence behind them are).

The two engines must agree exactly. Where floating point enters, the SQL performs the same IEEE operations in
the same order as the Spark expressions (ratios as double / double, the rubric prior, the score's sum in
SCORE_COMPONENTS order), fractional weights are quantised to 1e-9 and summed as integers like Spark's, and the
comparison allows 1e-9 relative only for pow() (Java's Math.pow and C's pow may differ in the last bit).

`compare_signals` checks Spark's output against this reference and raises `SignalMismatch` with examples.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa

from hiring_signals.contract.curated_schema import (
    ACTIVITY_EVENT_TYPES,
    ACTIVITY_WINDOW_DAYS,
    RUBRIC_DIMENSIONS,
    SCORE_CAP_CREDENTIALS,
    SCORE_CAP_OUTCOMES,
    SCORE_COMPONENT_NAMES,
    SCORE_COMPONENTS,
    SCORE_RATE_PRIOR,
    SCORE_RATE_PRIOR_WEIGHT,
    SIGNAL_NAMES,
)
from hiring_signals.contract.vocabulary import alias_map
from spark_jobs.candidate_signals.transforms import QUANTUM, WITHDRAWN_STATUSES, SignalParams

US_PER_HOUR = 3_600_000_000
US_PER_DAY = 24 * US_PER_HOUR
US_PER_WEEK = 7 * US_PER_DAY
RELATIVE_TOLERANCE = 1e-9
RESULT_SCHEMA = pa.schema([("candidate_ref", pa.string()), ("signal", pa.string()), ("value", pa.float64()),
                           ("evidence_count", pa.int64())])


class SignalMismatch(AssertionError):
    """Spark and the reference disagree; the message lists counts per kind and examples."""


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _in(values) -> str:
    return "(" + ", ".join(_q(v) for v in values) + ")"


def _micros(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("as_of_end must be timezone-aware (UTC)")
    return (moment - datetime(1970, 1, 1, tzinfo=moment.tzinfo)) // moment.resolution


def _timestamp(moment: datetime) -> str:
    _micros(moment)  # refuses a naive datetime
    return f"TIMESTAMPTZ {_q(moment.isoformat())}"


def connect(threads: int = 2) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(config={"threads": threads})
    con.execute("SET TimeZone = 'UTC'")
    aliases = sorted(alias_map().items())
    vocabulary = "MAP {" + ", ".join(f"{_q(a)}: {_q(s)}" for a, s in aliases) + "}"
    # names are normalised like hiring_signals.contract.vocabulary.normalise_skill; unknown names are no evidence
    con.execute(f"""CREATE OR REPLACE TEMP MACRO vocabulary_skills(names) AS list_sort(list_distinct(list_filter(
        list_transform(coalesce(names, []::VARCHAR[]),
                       n -> {vocabulary}[trim(lower(regexp_replace(n, '\\s+', ' ', 'g')))]),
        s -> s IS NOT NULL)))""")
    return con


def known_events_sql(source: str, as_of_end: datetime) -> str:
    """Known as of `as_of_end` (occurred before it, ingested by it), one row per (source, event_id): the
    earliest ingested delivery, ties broken as the Spark job breaks them."""
    end = _timestamp(as_of_end)
    return f"""
        SELECT * FROM {source}
        WHERE occurred_at < {end} AND ingested_at <= {end}
        QUALIFY row_number() OVER (PARTITION BY source, event_id ORDER BY ingested_at, batch_id,
                                   source_updated_at ASC NULLS LAST, occurred_at, payload) = 1"""


def signals_sql(known: str, as_of_end: datetime, params: SignalParams = SignalParams()) -> str:
    """One row per known candidate and signal: candidate_ref, signal, value, evidence_count."""
    end_us = _micros(as_of_end)
    end = _timestamp(as_of_end)
    dims = RUBRIC_DIMENSIONS
    q = float(QUANTUM)
    m = float(params.rubric_prior_weight)
    w, p = float(SCORE_RATE_PRIOR_WEIGHT), float(SCORE_RATE_PRIOR)

    def ratio(num: str, den: str) -> str:
        return f"({num})::DOUBLE / nullif(({den})::DOUBLE, 0)"

    def left_sum(terms: list[str]) -> str:
        out = terms[0]
        for term in terms[1:]:
            out = f"({out} + {term})"
        return out

    def smoothed(successes: str, evidence: str) -> str:
        return f"(({successes})::DOUBLE + {w} * {p}) / (({evidence})::DOUBLE + {w})"

    mean_rubric_dims = f"{left_sum([f'rubric_{d}' for d in dims])} / {float(len(dims))}"
    mean_prior = f"{left_sum([f'prior_{d}' for d in dims])} / {float(len(dims))}"
    components = {  # (value, evidence, normalised in [0, 1]): the documented SCORE_COMPONENTS normalisations
        "quality": (mean_rubric_dims, "feedback_count", f"(coalesce({mean_rubric_dims}, {mean_prior}, 3.0) - 1.0) / 4.0"),
        "delivery": (ratio("on_time", "submitted"), "submitted", smoothed("on_time", "submitted")),
        "completion": (ratio("completed", "ended"), "ended", smoothed("completed", "ended")),
        "first_pass": (ratio("first_pass", "reviewed"), "reviewed", smoothed("first_pass", "reviewed")),
        "rehire": (ratio("rehire_yes", "rehire_n"), "rehire_n", smoothed("rehire_yes", "rehire_n")),
        "credentials": ("credentials_active::DOUBLE", "credentials_issued",
                        f"least(credentials_active, {SCORE_CAP_CREDENTIALS})::DOUBLE / {float(SCORE_CAP_CREDENTIALS)}"),
        "impact": ("outcomes::DOUBLE", "outcomes", f"least(outcomes, {SCORE_CAP_OUTCOMES})::DOUBLE / {float(SCORE_CAP_OUTCOMES)}"),
        "activity": ("active_weeks::DOUBLE", "activity_window_n", "active_weeks::DOUBLE / 13.0"),
    }
    if tuple(components) != SCORE_COMPONENT_NAMES:
        raise RuntimeError("reference score components differ from SCORE_COMPONENTS")
    points = [f"({float(c.weight)} * ({components[c.name][2]}))" for c in SCORE_COMPONENTS]
    score_evidence = " + ".join(f"(CASE WHEN ({components[c][1]}) > 0 THEN 1 ELSE 0 END)" for c in SCORE_COMPONENT_NAMES)
    skills_any = "list_distinct(list_concat(work_skills, credential_skills))"
    skills_both = "list_intersect(work_skills, credential_skills)"
    signals = {  # signal -> (value, evidence)
        "engagements_started": ("started", "started"),
        "engagements_completed": ("completed", "completed"),
        "completion_rate": (ratio("completed", "ended"), "ended"),
        "cancellation_rate": (ratio("cancelled_by_candidate", "ended"), "ended"),
        "on_time_delivery_rate": (ratio("on_time", "submitted"), "submitted"),
        "median_days_late": (f"median_late_us / {float(US_PER_DAY)}", "late"),
        "first_pass_approval_rate": (ratio("first_pass", "reviewed"), "reviewed"),
        "mean_rubric_score": (ratio("score_sum", f"feedback_count * {len(dims)}"), "feedback_count"),
        **{f"rubric_{d}": (f"rubric_{d}", "feedback_count") for d in dims},
        "would_rehire_rate": (ratio("rehire_yes", "rehire_n"), "rehire_n"),
        "impact_outcomes": ("outcomes", "outcomes"),
        "impact_size": (f"size_q::DOUBLE / nullif(outcomes::DOUBLE * {q}, 0)", "outcomes"),
        "active_verified_credentials": ("credentials_active", "credentials_issued"),
        "credential_skills": ("len(credential_skills)", "credential_skill_evidence"),
        "skill_breadth": (f"len({skills_any})", "work_skill_evidence + credential_skill_evidence"),
        "skills_work_and_credential": (f"len({skills_both})", "work_skill_evidence + credential_skill_evidence"),
        "repeat_engagement_rate": (ratio("repeat_employers", "employers"), "employers"),
        "referrals_made": ("referrals_made", "referrals_made"),
        "referrals_received": ("referrals_received", "referrals_received"),
        "offers_extended": ("offers_extended", "offers_extended"),
        "offers_accepted": ("offers_accepted", "offers_accepted"),
        "placements_started": ("placements_started", "placements_started"),
        "placements_fell_off": ("placements_fell_off", "placements_fell_off"),
        "days_since_last_activity": (f"({end_us} - last_activity_us)::DOUBLE / {float(US_PER_DAY)}", "activity_n"),
        "active_weeks_90d": ("active_weeks", "activity_window_n"),
        "median_response_hours": (f"median_response_us / {float(US_PER_HOUR)}", "responses"),
        "signal_score": (left_sum(points), score_evidence),
    }
    if set(signals) != set(SIGNAL_NAMES):
        raise RuntimeError(f"reference and signal catalog differ: {sorted(set(signals) ^ set(SIGNAL_NAMES))}")
    rows = ",\n            ".join(
        f"{{'signal': {_q(name)}, 'value': ({signals[name][0]})::DOUBLE, 'evidence_count': ({signals[name][1]})::BIGINT}}"
        for name in SIGNAL_NAMES)
    half_life_us = float(params.half_life_days * US_PER_DAY)
    activity = f"event_type IN {_in(ACTIVITY_EVENT_TYPES)}"
    window_us = ACTIVITY_WINDOW_DAYS * US_PER_DAY

    def counts(names: list[str]) -> str:
        return ", ".join(f"coalesce({n}, 0)::BIGINT AS {n}" for n in names)

    return f"""
WITH known AS (SELECT * FROM {known}),
pair AS (SELECT * FROM known WHERE engagement_ref IS NOT NULL AND candidate_ref IS NOT NULL),

-- engagement lifecycle per (engagement, candidate): the first start, the first terminal event
lifecycle AS (
    SELECT engagement_ref, candidate_ref, min(employer_ref) AS employer_ref,
           min(occurred_at) FILTER (WHERE event_type = 'engagement.started') AS started_at,
           arg_min({{'type': event_type, 'by': json_extract_string(payload, '$.cancelled_by')}}, (occurred_at, event_id))
               FILTER (WHERE event_type <> 'engagement.started') AS ending
    FROM pair WHERE event_type IN ('engagement.started', 'engagement.completed', 'engagement.cancelled')
    GROUP BY engagement_ref, candidate_ref),
scope_events AS (
    SELECT engagement_ref, event_type = 'engagement.posted' AS is_post, occurred_at, event_id, employer_ref,
           json_extract_string(payload, '$.title') AS title, json_extract_string(payload, '$.category') AS category, json_extract_string(payload, '$.skills[*]') AS skills
    FROM known WHERE event_type IN ('engagement.posted', 'application.decided') AND engagement_ref IS NOT NULL),
postings AS (
    SELECT engagement_ref,
           arg_min({{'employer_ref': employer_ref, 'skills': vocabulary_skills(skills)}},
                   (CASE WHEN is_post THEN 0 ELSE 1 END, occurred_at, event_id)) AS first
    FROM scope_events
    WHERE is_post OR title IS NOT NULL OR category IS NOT NULL OR coalesce(len(skills), 0) > 0
    GROUP BY engagement_ref),
engagement_facts AS (
    SELECT l.candidate_ref, coalesce(p.first.employer_ref, l.employer_ref) AS employer_ref,
           l.started_at IS NOT NULL AS started,
           CASE l.ending.type WHEN 'engagement.completed' THEN 'completed' WHEN 'engagement.cancelled' THEN 'cancelled'
                ELSE 'in_progress' END AS status,
           CASE WHEN l.ending.type = 'engagement.cancelled' THEN l.ending.by END AS cancelled_by,
           coalesce(p.first.skills, []::VARCHAR[]) AS skills
    FROM lifecycle l LEFT JOIN postings p USING (engagement_ref)),
engagement_metrics AS (
    SELECT candidate_ref,
           count(*) FILTER (WHERE started) AS started,
           count(*) FILTER (WHERE status = 'completed') AS completed,
           count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
           count(*) FILTER (WHERE status = 'cancelled' AND cancelled_by = 'candidate') AS cancelled_by_candidate,
           count(*) FILTER (WHERE status = 'completed' AND len(skills) > 0) AS work_skill_evidence,
           list_distinct(flatten(list(skills) FILTER (WHERE status = 'completed'))) AS work_skills
    FROM engagement_facts GROUP BY candidate_ref),
employer_metrics AS (
    SELECT candidate_ref, count(*) AS employers, count(*) FILTER (WHERE n >= 2) AS repeat_employers
    FROM (SELECT candidate_ref, employer_ref, count(*) AS n FROM engagement_facts
          WHERE started AND employer_ref IS NOT NULL GROUP BY candidate_ref, employer_ref)
    GROUP BY candidate_ref),

-- deliverables: judged on the first known submission and the first review
deliverable_events AS (
    SELECT engagement_ref, candidate_ref, event_id, occurred_at,
           json_extract_string(payload, '$.deliverable_id') AS deliverable_id,
           TRY_CAST(json_extract_string(payload, '$.submitted_at') AS TIMESTAMPTZ) AS submitted_at,
           TRY_CAST(json_extract_string(payload, '$.due_at') AS TIMESTAMPTZ) AS due_at,
           coalesce(TRY_CAST(json_extract_string(payload, '$.submission_round') AS INTEGER), 1) AS submission_round,
           json_extract_string(payload, '$.outcome') AS outcome,
           coalesce(TRY_CAST(json_extract_string(payload, '$.review_round') AS INTEGER), 1) AS review_round,
           event_type
    FROM pair WHERE event_type IN ('deliverable.submitted', 'deliverable.reviewed')),
deliverables AS (
    SELECT candidate_ref,
           arg_min({{'submitted_at': submitted_at, 'due_at': due_at}}, (submitted_at, submission_round, event_id))
               FILTER (WHERE is_submission) AS s,
           arg_min({{'outcome': outcome}}, (review_round, occurred_at, event_id)) FILTER (WHERE is_review) AS r
    FROM (SELECT *, event_type = 'deliverable.submitted' AND submitted_at IS NOT NULL AND due_at IS NOT NULL
                    AS is_submission,
                    event_type = 'deliverable.reviewed' AND outcome IS NOT NULL AS is_review
          FROM deliverable_events)
    WHERE deliverable_id IS NOT NULL AND (is_submission OR is_review)
    GROUP BY engagement_ref, candidate_ref, deliverable_id),
deliverable_metrics AS (
    SELECT candidate_ref,
           count(*) FILTER (WHERE s IS NOT NULL) AS submitted,
           count(*) FILTER (WHERE s.submitted_at <= s.due_at) AS on_time,
           count(*) FILTER (WHERE s.submitted_at > s.due_at) AS late,
           quantile_cont(epoch_us(s.submitted_at) - epoch_us(s.due_at), 0.5)
               FILTER (WHERE s.submitted_at > s.due_at) AS median_late_us,
           count(*) FILTER (WHERE r IS NOT NULL) AS reviewed,
           count(*) FILTER (WHERE r.outcome = 'approved') AS first_pass
    FROM deliverables GROUP BY candidate_ref),

-- mentor feedback: complete rubrics only for scores; would_rehire from every feedback event
feedback AS (
    SELECT candidate_ref, occurred_at,
           {", ".join(f"TRY_CAST(json_extract_string(payload, '$.scores.{d}') AS BIGINT) AS {d}" for d in dims)},
           TRY_CAST(json_extract_string(payload, '$.would_rehire') AS BOOLEAN) AS would_rehire
    FROM pair WHERE event_type = 'feedback.recorded'),
feedback_scored AS (
    SELECT *, {" AND ".join(f"{d} IS NOT NULL" for d in dims)} AS complete,
           round(pow(0.5, ({end_us} - epoch_us(occurred_at))::DOUBLE / {half_life_us}) * {q})::BIGINT AS weight_q
    FROM feedback),
feedback_metrics AS (
    SELECT candidate_ref,
           count(*) FILTER (WHERE complete) AS feedback_count,
           sum({" + ".join(dims)}) FILTER (WHERE complete) AS score_sum,
           sum(weight_q) FILTER (WHERE complete) AS weight_q,
           {", ".join(f"sum(weight_q * {d}) FILTER (WHERE complete) AS wsum_{d}" for d in dims)},
           count(*) FILTER (WHERE would_rehire) AS rehire_yes,
           count(would_rehire) AS rehire_n
    FROM feedback_scored GROUP BY candidate_ref),
population AS (
    SELECT count(*) AS pop_n, {", ".join(f"sum({d}) AS pop_sum_{d}" for d in dims)}
    FROM feedback_scored WHERE complete),

-- measured KPI outcomes: the latest measurement per (engagement, deliverable, metric)
outcome_events AS (
    SELECT engagement_ref, candidate_ref, occurred_at, event_id, json_extract_string(payload, '$.deliverable_id') AS deliverable_id,
           json_extract_string(payload, '$.metric') AS metric, TRY_CAST(json_extract_string(payload, '$.baseline') AS DOUBLE) AS baseline,
           TRY_CAST(json_extract_string(payload, '$.result') AS DOUBLE) AS result
    FROM pair WHERE event_type = 'outcome.measured'),
outcomes AS (
    SELECT candidate_ref, arg_max({{'b': baseline, 'r': result}}, (occurred_at, event_id)) AS m
    FROM outcome_events
    WHERE deliverable_id IS NOT NULL AND metric IS NOT NULL AND baseline IS NOT NULL AND result IS NOT NULL
    GROUP BY engagement_ref, candidate_ref, deliverable_id, metric),
outcome_metrics AS (
    SELECT candidate_ref, count(*) AS outcomes,
           sum(round(least(CASE WHEN greatest(abs(m.b), abs(m.r)) = 0 THEN 0.0
                                ELSE abs(m.r - m.b) / greatest(abs(m.b), abs(m.r)) END, 1.0) * {q})::BIGINT) AS size_q
    FROM outcomes GROUP BY candidate_ref),

-- credentials: the latest issue and the latest status re-check per (candidate, credential)
credential_events AS (
    SELECT candidate_ref, json_extract_string(payload, '$.credential_id') AS credential_id, event_type = 'credential.issued' AS is_issue,
           occurred_at, event_id,
           TRY_CAST(json_extract_string(payload, '$.valid_from') AS TIMESTAMPTZ) AS valid_from,
           TRY_CAST(json_extract_string(payload, '$.valid_until') AS TIMESTAMPTZ) AS valid_until,
           json_extract_string(payload, '$.verification_result') AS verification_result, json_extract_string(payload, '$.status') AS status,
           json_extract_string(payload, '$.skills[*]') AS skills
    FROM known
    WHERE candidate_ref IS NOT NULL AND event_type IN ('credential.issued', 'credential.status_changed')),
credentials AS (
    SELECT candidate_ref,
           arg_max({{'valid_from': valid_from, 'valid_until': valid_until, 'verification': verification_result,
                     'skills': skills}}, (occurred_at, event_id)) FILTER (WHERE is_issue) AS issue,
           arg_max({{'status': status, 'verification': verification_result}}, (occurred_at, event_id))
               FILTER (WHERE NOT is_issue) AS chk
    FROM credential_events WHERE credential_id IS NOT NULL
    GROUP BY candidate_ref, credential_id),
credential_facts AS (
    SELECT candidate_ref, vocabulary_skills(issue.skills) AS skills,
           coalesce(issue.verification = 'verified'
                    AND (chk.verification IS NULL OR chk.verification = 'verified')
                    AND issue.valid_from <= {end} AND (issue.valid_until IS NULL OR issue.valid_until > {end})
                    AND (chk.status IS NULL OR chk.status NOT IN {_in(WITHDRAWN_STATUSES)}), false) AS active
    FROM credentials WHERE issue IS NOT NULL),
credential_metrics AS (
    SELECT candidate_ref, count(*) AS credentials_issued,
           count(*) FILTER (WHERE active) AS credentials_active,
           count(*) FILTER (WHERE active AND len(skills) > 0) AS credential_skill_evidence,
           list_distinct(flatten(list(skills) FILTER (WHERE active))) AS credential_skills
    FROM credential_facts GROUP BY candidate_ref),

-- every event naming the candidate: referrals, offers, placements, activity, responsiveness
candidate_events AS (
    SELECT candidate_ref, event_type, epoch_us(occurred_at) AS occurred_us,
           {end_us} - epoch_us(occurred_at) AS age_us,
           CASE WHEN event_type IN ('offer.extended', 'offer.accepted')
                THEN coalesce(json_extract_string(payload, '$.offer_id'), event_id) END AS offer,
           CASE WHEN event_type IN ('offer.extended', 'offer.accepted', 'application.submitted')
                THEN coalesce(TRY_CAST(json_extract_string(payload, '$.is_conversion') AS BOOLEAN), false) ELSE false END AS is_conversion,
           CASE WHEN event_type IN ('placement.started', 'placement.fell_off')
                THEN coalesce(engagement_ref, event_id) END AS placement,
           CASE WHEN event_type = 'application.submitted'
                THEN epoch_us(occurred_at) - epoch_us(TRY_CAST(json_extract_string(payload, '$.invited_at') AS TIMESTAMPTZ)) END AS response_us
    FROM known WHERE candidate_ref IS NOT NULL),
event_metrics AS (
    SELECT candidate_ref,
           count(*) FILTER (WHERE event_type = 'referral.made') AS referrals_made,
           count(DISTINCT offer) FILTER (WHERE event_type = 'offer.extended') AS offers_extended,
           count(DISTINCT offer) FILTER (WHERE event_type = 'offer.extended' AND is_conversion) AS offer_conversions,
           count(DISTINCT offer) FILTER (WHERE event_type = 'offer.accepted') AS offers_accepted,
           count(DISTINCT placement) FILTER (WHERE event_type = 'placement.started') AS placements_started,
           count(DISTINCT placement) FILTER (WHERE event_type = 'placement.fell_off') AS placements_fell_off,
           count(*) FILTER (WHERE {activity}) AS activity_n,
           max(occurred_us) FILTER (WHERE {activity}) AS last_activity_us,
           count(*) FILTER (WHERE {activity} AND age_us <= {window_us}) AS activity_window_n,
           count(DISTINCT floor(age_us::DOUBLE / {float(US_PER_WEEK)}))
               FILTER (WHERE {activity} AND age_us <= {window_us}) AS active_weeks,
           count(*) FILTER (WHERE response_us >= 0) AS responses,
           quantile_cont(response_us, 0.5) FILTER (WHERE response_us >= 0) AS median_response_us
    FROM candidate_events GROUP BY candidate_ref),
referred_metrics AS (
    SELECT json_extract_string(payload, '$.referred_candidate_ref') AS candidate_ref, count(*) AS referrals_received
    FROM known WHERE event_type = 'referral.made' AND json_extract_string(payload, '$.referred_candidate_ref') IS NOT NULL
    GROUP BY 1),

metrics AS (
    SELECT e.candidate_ref,
           {counts(["started", "completed", "cancelled", "cancelled_by_candidate", "work_skill_evidence",
                    "employers", "repeat_employers", "submitted", "on_time", "late", "reviewed", "first_pass",
                    "feedback_count", "score_sum", "weight_q", *[f"wsum_{d}" for d in dims], "rehire_yes",
                    "rehire_n", "outcomes", "size_q", "credentials_issued", "credentials_active",
                    "credential_skill_evidence", "referrals_received", "pop_n", *[f"pop_sum_{d}" for d in dims]])},
           coalesce(work_skills, []::VARCHAR[]) AS work_skills,
           coalesce(credential_skills, []::VARCHAR[]) AS credential_skills,
           e.* EXCLUDE (candidate_ref), median_late_us
    FROM event_metrics e
    LEFT JOIN engagement_metrics USING (candidate_ref)
    LEFT JOIN employer_metrics USING (candidate_ref)
    LEFT JOIN deliverable_metrics USING (candidate_ref)
    LEFT JOIN feedback_metrics USING (candidate_ref)
    LEFT JOIN outcome_metrics USING (candidate_ref)
    LEFT JOIN credential_metrics USING (candidate_ref)
    LEFT JOIN referred_metrics USING (candidate_ref)
    CROSS JOIN population),
derived AS (
    SELECT *, completed + cancelled AS ended,
           {", ".join(f"{ratio(f'pop_sum_{d}', 'pop_n')} AS prior_{d}" for d in dims)}
    FROM metrics),
shrunk AS (
    SELECT *,
           {", ".join(f"CASE WHEN feedback_count > 0 THEN least(greatest((wsum_{d}::DOUBLE / {q} + {m} * prior_{d}) "
                      f"/ (weight_q::DOUBLE / {q} + {m}), 1.0), 5.0) END AS rubric_{d}" for d in dims)}
    FROM derived)
SELECT candidate_ref, s.signal, s.value, s.evidence_count
FROM (SELECT candidate_ref, unnest([
            {rows}
      ]) AS s FROM shrunk)
"""


def reference_signals(con: duckdb.DuckDBPyConnection, parquet_files: list[str], as_of_end: datetime,
                      params: SignalParams = SignalParams()) -> pa.Table:
    """The reference `candidate_signals` (candidate_ref, signal, value, evidence_count) from raw Parquet files."""
    files = "[" + ", ".join(_q(f) for f in parquet_files) + "]"
    con.execute(f"CREATE OR REPLACE TEMP TABLE known_events AS {known_events_sql(f'read_parquet({files}, hive_partitioning = false)', as_of_end)}")
    try:
        table = con.execute(signals_sql("known_events", as_of_end, params)).fetch_arrow_table()
    finally:
        con.execute("DROP TABLE IF EXISTS known_events")
    return table.cast(RESULT_SCHEMA)


@dataclass(frozen=True)
class Comparison:
    rows: int
    candidates: int
    max_relative_difference: float


def compare_signals(spark_table: pa.Table, reference: pa.Table, examples: int = 5) -> Comparison:
    """Every (candidate_ref, signal) in both, values equal within 1e-9 relative (both null counts as equal),
    evidence counts equal; otherwise SignalMismatch with counts and examples per kind of difference."""
    con = duckdb.connect()
    con.register("spark_rows", spark_table.select(RESULT_SCHEMA.names).cast(RESULT_SCHEMA))
    con.register("reference_rows", reference.cast(RESULT_SCHEMA))
    diff = f"""
        SELECT coalesce(s.candidate_ref, r.candidate_ref) AS candidate_ref, coalesce(s.signal, r.signal) AS signal,
               s.value AS spark_value, r.value AS reference_value,
               s.evidence_count AS spark_evidence, r.evidence_count AS reference_evidence,
               CASE WHEN s.signal IS NULL THEN 'missing in Spark'
                    WHEN r.signal IS NULL THEN 'missing in the reference'
                    WHEN (s.value IS NULL) <> (r.value IS NULL) THEN 'value null in one only'
                    WHEN abs(s.value - r.value) > {RELATIVE_TOLERANCE} * greatest(abs(s.value), abs(r.value))
                        THEN 'value differs'
                    WHEN s.evidence_count <> r.evidence_count THEN 'evidence differs' END AS problem
        FROM spark_rows s FULL OUTER JOIN reference_rows r USING (candidate_ref, signal)"""
    problems = con.execute(f"""
        SELECT problem, signal, count(*) AS n, list({{'candidate_ref': candidate_ref, 'spark': spark_value,
               'reference': reference_value, 'spark_evidence': spark_evidence,
               'reference_evidence': reference_evidence}} ORDER BY candidate_ref)[1:{examples}] AS examples
        FROM ({diff}) WHERE problem IS NOT NULL GROUP BY problem, signal ORDER BY n DESC, problem, signal""").fetchall()
    if problems:
        lines = [f"{n} row(s): {problem} for {signal}; e.g. {sample}" for problem, signal, n, sample in problems]
        raise SignalMismatch(f"Spark and the DuckDB reference disagree on {sum(p[2] for p in problems)} row(s):\n  "
                             + "\n  ".join(lines))
    worst = con.execute("""
        SELECT coalesce(max(abs(s.value - r.value) / nullif(greatest(abs(s.value), abs(r.value)), 0)), 0),
               count(*), count(DISTINCT candidate_ref)
        FROM spark_rows s JOIN reference_rows r USING (candidate_ref, signal)""").fetchone()
    if spark_table.num_rows != worst[1] or reference.num_rows != worst[1]:
        raise SignalMismatch(f"duplicate (candidate_ref, signal) rows: Spark {spark_table.num_rows}, "
                             f"reference {reference.num_rows}, matched {worst[1]}")
    return Comparison(rows=worst[1], candidates=worst[2], max_relative_difference=float(worst[0]))
