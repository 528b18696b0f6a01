-- The hiring funnel per source as of the published snapshot: posted -> applied -> started -> completed -> offer.
-- Steps come from the per-source mapping in staging (funnel_step); "completed" uses the lifecycle's
-- first-terminal-event rule (an engagement cancelled first and "completed" later is not completed).
-- Units: postings are engagements; every later step is an engagement x candidate pair.
-- Step conversions are true funnel rates in [0, 1]: of the units at step k-1, the share that also reached
-- step k (posted -> applied: the share of postings with at least one applicant). Null when the earlier step
-- is empty (the gig platform posts nothing; recruiter placements never complete).

with

lifecycle as (

    select * from {{ ref('int_engagement_lifecycle') }}

),

latest as (

    select as_of_date from {{ ref('int_latest_snapshot') }}

),

postings as (

    select distinct source, engagement_ref
    from {{ ref('int_events_deduplicated') }}
    where funnel_step = 'posted'
      and engagement_ref is not null

),

applied_engagements as (

    select distinct engagement_ref
    from lifecycle
    where applied_step_at is not null

),

posted as (

    select
        p.source,
        count(*) as engagements_posted,
        sum(case when a.engagement_ref is not null then 1 else 0 end) as postings_with_applicants
    from postings as p
    left join applied_engagements as a
        on p.engagement_ref = a.engagement_ref
    group by p.source

),

pairs as (

    select
        source,
        sum(case when applied_step_at is not null then 1 else 0 end) as applied,
        sum(case when started_step_at is not null then 1 else 0 end) as started,
        sum(case when status = 'completed' then 1 else 0 end) as completed,
        sum(case when offer_step_at is not null then 1 else 0 end) as offered,
        sum(case when applied_step_at is not null and started_step_at is not null then 1 else 0 end)
            as applied_and_started,
        sum(case when started_step_at is not null and status = 'completed' then 1 else 0 end)
            as started_and_completed,
        sum(case when status = 'completed' and offer_step_at is not null then 1 else 0 end)
            as completed_and_offered
    from lifecycle
    group by source

),

sources as (

    select source from posted
    union
    select source from pairs

),

final as (

    select
        cast(s.source as text) as source,
        cast(l.as_of_date as date) as as_of_date,
        cast(coalesce(po.engagements_posted, 0) as bigint) as engagements_posted,
        cast(coalesce(pa.applied, 0) as bigint) as applied,
        cast(coalesce(pa.started, 0) as bigint) as started,
        cast(coalesce(pa.completed, 0) as bigint) as completed,
        cast(coalesce(pa.offered, 0) as bigint) as offered,
        cast(
            case when po.engagements_posted > 0
                then cast(po.postings_with_applicants as double precision) / po.engagements_posted end
        as double precision) as posted_to_applied_rate,
        cast(
            case when pa.applied > 0 then cast(pa.applied_and_started as double precision) / pa.applied end
        as double precision) as applied_to_started_rate,
        cast(
            case when pa.started > 0 then cast(pa.started_and_completed as double precision) / pa.started end
        as double precision) as started_to_completed_rate,
        cast(
            case when pa.completed > 0 then cast(pa.completed_and_offered as double precision) / pa.completed end
        as double precision) as completed_to_offer_rate

    from sources as s
    cross join latest as l
    left join posted as po
        on s.source = po.source
    left join pairs as pa
        on s.source = pa.source

)

select * from final
