-- One row per employer (employer_ref, namespaced by source) known to the published snapshot: when it was first
-- and last seen, what it posted and how its engagements went. Recruiter clients are employers too
-- ("<agency>:<client>").

with

events as (

    select * from {{ ref('int_events_deduplicated') }}
    where employer_ref is not null

),

seen as (

    select
        employer_ref,
        min(as_of_date) as as_of_date,
        min(source) as source,
        min(occurred_at) as first_seen_at,
        max(occurred_at) as last_seen_at,
        count(*) as event_count,
        count(distinct case when event_type = 'engagement.posted' then engagement_ref end) as engagements_posted
    from events
    group by employer_ref

),

pairs as (

    select
        employer_ref,
        count(distinct engagement_ref) as engagements_with_candidates,
        count(distinct candidate_ref) as candidates,
        sum(case when started_step_at is not null then 1 else 0 end) as candidates_started,
        sum(case when status = 'completed' then 1 else 0 end) as candidates_completed,
        sum(case when status = 'cancelled' then 1 else 0 end) as candidates_cancelled,
        sum(case when offer_step_at is not null then 1 else 0 end) as candidates_offered
    from {{ ref('int_engagement_lifecycle') }}
    where employer_ref is not null
    group by employer_ref

),

final as (

    select
        cast(s.employer_ref as text) as employer_ref,
        cast(s.as_of_date as date) as as_of_date,
        cast(s.source as text) as source,
        cast(s.first_seen_at as timestamp with time zone) as first_seen_at,
        cast(s.last_seen_at as timestamp with time zone) as last_seen_at,
        cast(s.event_count as bigint) as event_count,
        cast(s.engagements_posted as bigint) as engagements_posted,
        cast(coalesce(p.engagements_with_candidates, 0) as bigint) as engagements_with_candidates,
        cast(coalesce(p.candidates, 0) as bigint) as candidates,
        cast(coalesce(p.candidates_started, 0) as bigint) as candidates_started,
        cast(coalesce(p.candidates_completed, 0) as bigint) as candidates_completed,
        cast(coalesce(p.candidates_cancelled, 0) as bigint) as candidates_cancelled,
        cast(coalesce(p.candidates_offered, 0) as bigint) as candidates_offered

    from seen as s
    left join pairs as p
        on s.employer_ref = p.employer_ref

)

select * from final
