-- One row per engagement x candidate with any funnel event (applied, started, completed, cancelled, offer),
-- with the lifecycle timestamps. The engagement lifecycle follows the signal job's rules
-- (spark_jobs/candidate_signals/transforms.py engagement_lifecycle / postings):
--   * started_at = the first engagement.started of the pair;
--   * the status comes from the FIRST terminal event (engagement.completed / engagement.cancelled, by
--     occurred_at then event_id): a later contradicting event does not change it; in_progress without one;
--   * cancelled_by from that cancellation's payload;
--   * posted_at = the engagement's first engagement.posted; the employer is the posting's, else the smallest
--     one the pair's lifecycle events name.
-- Placements (recruiter) have no engagement.* events, so they never get started_at/status here - exactly as
-- Spark lists no placement among engagements; their funnel steps are in the *_step_at columns.

with

events as (

    select * from {{ ref('int_events_deduplicated') }}

),

postings as (

    select
        engagement_ref,
        occurred_at as posted_at,
        employer_ref as posted_employer_ref,
        row_number() over (partition by engagement_ref order by occurred_at, event_id) as posting_rank
    from events
    where event_type = 'engagement.posted'
      and engagement_ref is not null

),

first_postings as (

    select engagement_ref, posted_at, posted_employer_ref
    from postings
    where posting_rank = 1

),

pair_events as (

    select *
    from events
    where engagement_ref is not null
      and candidate_ref is not null
      and funnel_step in ('applied', 'started', 'completed', 'cancelled', 'offer')

),

terminals as (

    select
        engagement_ref,
        candidate_ref,
        event_type,
        occurred_at,
        {{ hiring_signals.json_value('payload', 'cancelled_by') }} as cancelled_by,
        row_number() over (
            partition by engagement_ref, candidate_ref order by occurred_at, event_id
        ) as terminal_rank
    from pair_events
    where event_type in ('engagement.completed', 'engagement.cancelled')

),

first_terminals as (

    select * from terminals where terminal_rank = 1

),

per_pair as (

    select
        engagement_ref,
        candidate_ref,
        min(as_of_date) as as_of_date,
        min(source) as source,
        min(case when event_type in ('engagement.started', 'engagement.completed', 'engagement.cancelled')
                 then employer_ref end) as lifecycle_employer_ref,
        min(employer_ref) as any_employer_ref,
        min(case when event_type = 'engagement.started' then occurred_at end) as started_at,
        min(case when funnel_step = 'applied' then occurred_at end) as applied_step_at,
        min(case when funnel_step = 'started' then occurred_at end) as started_step_at,
        min(case when funnel_step = 'offer' then occurred_at end) as offer_step_at
    from pair_events
    group by engagement_ref, candidate_ref

),

final as (

    select
        p.engagement_ref,
        p.candidate_ref,
        p.as_of_date,
        p.source,
        coalesce(fp.posted_employer_ref, p.lifecycle_employer_ref, p.any_employer_ref) as employer_ref,
        fp.posted_at,
        p.applied_step_at,
        p.started_step_at,
        p.offer_step_at,
        p.started_at,
        t.occurred_at as ended_at,
        case
            when t.event_type = 'engagement.completed' then 'completed'
            when t.event_type = 'engagement.cancelled' then 'cancelled'
            when p.started_at is not null then 'in_progress'
            else 'not_started'
        end as status,
        case when t.event_type = 'engagement.cancelled' then t.cancelled_by end as cancelled_by
    from per_pair as p
    left join first_postings as fp
        on p.engagement_ref = fp.engagement_ref
    left join first_terminals as t
        on p.engagement_ref = t.engagement_ref
       and p.candidate_ref = t.candidate_ref

)

select * from final
