-- SQL and Spark resolve the same candidates: int_candidate_identity equals the curated candidates of the
-- snapshot row for row (first/last event, event count, sorted sources). Returns the disagreeing candidates.
with

checked as ({{ raw_checked_snapshot() }}),

curated as (

    select cc.*
    from {{ ref('stg_curated__candidates') }} as cc
    inner join checked as c
        on cc.as_of_date = c.as_of_date

),

identity as (

    select i.*
    from {{ ref('int_candidate_identity') }} as i
    inner join checked as c
        on i.as_of_date = c.as_of_date

)

select
    coalesce(cu.candidate_ref, i.candidate_ref) as candidate_ref,
    cu.sources as curated_sources,
    i.sources as identity_sources,
    cu.event_count as curated_event_count,
    i.event_count as identity_event_count
from curated as cu
full outer join identity as i
    on cu.candidate_ref = i.candidate_ref
where cu.candidate_ref is null
   or i.candidate_ref is null
   or cu.sources is distinct from i.sources
   or cu.event_count is distinct from i.event_count
   or cu.first_event_at is distinct from i.first_event_at
   or cu.last_event_at is distinct from i.last_event_at
