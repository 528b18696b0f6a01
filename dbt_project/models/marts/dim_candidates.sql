-- One row per candidate at the latest complete snapshot: activity span, event count, sources, and their
-- engagements (counted from fct_engagements, so the two marts always agree).

with

latest as (

    select as_of_date from {{ ref('int_latest_snapshot') }}

),

candidates as (

    select c.*
    from {{ ref('stg_curated__candidates') }} as c
    inner join latest as l
        on c.as_of_date = l.as_of_date

),

engagements as (

    select
        candidate_ref,
        count(*) as engagements_started,
        sum(case when is_completed then 1 else 0 end) as engagements_completed,
        sum(case when is_cancelled then 1 else 0 end) as engagements_cancelled,
        sum(case when status = 'in_progress' then 1 else 0 end) as engagements_in_progress,
        min(started_at) as first_engagement_started_at,
        max(started_at) as last_engagement_started_at

    from {{ ref('fct_engagements') }}
    group by candidate_ref

),

final as (

    select
        cast(c.candidate_ref as text) as candidate_ref,
        cast(c.as_of_date as date) as as_of_date,
        cast(c.first_event_at as timestamp with time zone) as first_event_at,
        cast(c.last_event_at as timestamp with time zone) as last_event_at,
        cast(c.event_count as bigint) as event_count,
        cast(c.sources as text) as sources,
        cast(c.source_count as integer) as source_count,
        cast(coalesce(e.engagements_started, 0) as bigint) as engagements_started,
        cast(coalesce(e.engagements_completed, 0) as bigint) as engagements_completed,
        cast(coalesce(e.engagements_cancelled, 0) as bigint) as engagements_cancelled,
        cast(coalesce(e.engagements_in_progress, 0) as bigint) as engagements_in_progress,
        cast(e.first_engagement_started_at as timestamp with time zone) as first_engagement_started_at,
        cast(e.last_engagement_started_at as timestamp with time zone) as last_engagement_started_at

    from candidates as c
    left join engagements as e
        on c.candidate_ref = e.candidate_ref

)

select * from final
