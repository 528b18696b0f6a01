-- One row per deliverable (engagement x candidate x deliverable_id) submitted or reviewed, as of the published
-- snapshot, judged like the signal job (spark_jobs/candidate_signals/transforms.py deliverable_facts):
--   * on its FIRST known submission (earliest submitted_at, then submission_round, then event_id): a
--     resubmission after changes_requested is neither a second deliverable nor a late one;
--   * on time when submitted_at <= due_at (at the due instant is on time); days_late = fractional days past
--     due_at, 0 when on time, null when nothing was submitted;
--   * first pass when its first review (lowest review_round, then occurred_at, then event_id) approved it.

with

events as (

    select
        source,
        engagement_ref,
        candidate_ref,
        employer_ref,
        event_id,
        event_type,
        occurred_at,
        as_of_date,
        {{ hiring_signals.json_value('payload', 'deliverable_id') }} as deliverable_id,
        {{ hiring_signals.json_value('payload', 'due_at', 'timestamp with time zone') }} as due_at,
        {{ hiring_signals.json_value('payload', 'submitted_at', 'timestamp with time zone') }} as submitted_at,
        coalesce({{ hiring_signals.json_value('payload', 'submission_round', 'integer') }}, 1) as submission_round,
        {{ hiring_signals.json_value('payload', 'outcome') }} as outcome,
        coalesce({{ hiring_signals.json_value('payload', 'review_round', 'integer') }}, 1) as review_round
    from {{ ref('int_events_deduplicated') }}
    where event_type in ('deliverable.submitted', 'deliverable.reviewed')
      and engagement_ref is not null
      and candidate_ref is not null

),

classified as (

    select
        events.*,
        (event_type = 'deliverable.submitted' and submitted_at is not null and due_at is not null) as is_submission,
        (event_type = 'deliverable.reviewed' and outcome is not null) as is_review
    from events
    where deliverable_id is not null

),

submissions as (

    select
        engagement_ref,
        candidate_ref,
        deliverable_id,
        due_at,
        submitted_at,
        submission_round,
        row_number() over (
            partition by engagement_ref, candidate_ref, deliverable_id
            order by submitted_at, submission_round, event_id
        ) as submission_rank,
        count(*) over (partition by engagement_ref, candidate_ref, deliverable_id) as submission_count
    from classified
    where is_submission

),

reviews as (

    select
        engagement_ref,
        candidate_ref,
        deliverable_id,
        outcome,
        occurred_at as reviewed_at,
        row_number() over (
            partition by engagement_ref, candidate_ref, deliverable_id
            order by review_round, occurred_at, event_id
        ) as review_rank,
        count(*) over (partition by engagement_ref, candidate_ref, deliverable_id) as review_count
    from classified
    where is_review

),

deliverables as (

    select
        engagement_ref,
        candidate_ref,
        deliverable_id,
        min(as_of_date) as as_of_date,
        min(source) as source,
        min(employer_ref) as employer_ref
    from classified
    where is_submission or is_review
    group by engagement_ref, candidate_ref, deliverable_id

),

final as (

    select
        cast(d.engagement_ref as text) as engagement_ref,
        cast(d.candidate_ref as text) as candidate_ref,
        cast(d.deliverable_id as text) as deliverable_id,
        cast(d.as_of_date as date) as as_of_date,
        cast(d.source as text) as source,
        cast(d.employer_ref as text) as employer_ref,
        cast(s.due_at as timestamp with time zone) as due_at,
        cast(s.submitted_at as timestamp with time zone) as first_submitted_at,
        cast(s.submission_round as integer) as first_submission_round,
        cast(coalesce(s.submission_count, 0) as bigint) as submission_count,
        cast(s.submitted_at is not null as boolean) as is_submitted,
        cast(s.submitted_at <= s.due_at as boolean) as is_on_time,
        cast(
            case
                when s.submitted_at is null then null
                when s.submitted_at <= s.due_at then 0.0
                else {{ days_between('s.due_at', 's.submitted_at') }}
            end
        as double precision) as days_late,
        cast(r.outcome as text) as first_review_outcome,
        cast(r.reviewed_at as timestamp with time zone) as first_reviewed_at,
        cast(coalesce(r.review_count, 0) as bigint) as review_count,
        cast(r.outcome is not null as boolean) as is_reviewed,
        cast(coalesce(r.outcome = 'approved', false) as boolean) as is_first_pass

    from deliverables as d
    left join submissions as s
        on d.engagement_ref = s.engagement_ref
       and d.candidate_ref = s.candidate_ref
       and d.deliverable_id = s.deliverable_id
       and s.submission_rank = 1
    left join reviews as r
        on d.engagement_ref = r.engagement_ref
       and d.candidate_ref = r.candidate_ref
       and d.deliverable_id = r.deliverable_id
       and r.review_rank = 1

)

select * from final
