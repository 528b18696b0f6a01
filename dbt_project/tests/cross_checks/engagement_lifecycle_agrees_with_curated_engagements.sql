-- SQL and Spark compute the same engagement lifecycle: every started engagement x candidate of the curated
-- snapshot has a row in int_engagement_lifecycle with the same source, employer, posted/started/ended times,
-- status and cancelled_by, and vice versa. Returns the disagreeing pairs with both sides.
with

checked as ({{ raw_checked_snapshot() }}),

curated as (

    select e.*
    from {{ ref('stg_curated__engagements') }} as e
    inner join checked as c
        on e.as_of_date = c.as_of_date

),

lifecycle as (

    select lc.*
    from {{ ref('int_engagement_lifecycle') }} as lc
    inner join checked as c
        on lc.as_of_date = c.as_of_date
    where lc.started_at is not null

)

select
    coalesce(cu.engagement_ref, lc.engagement_ref) as engagement_ref,
    coalesce(cu.candidate_ref, lc.candidate_ref) as candidate_ref,
    cu.status as curated_status,
    lc.status as lifecycle_status,
    cu.started_at as curated_started_at,
    lc.started_at as lifecycle_started_at,
    cu.ended_at as curated_ended_at,
    lc.ended_at as lifecycle_ended_at
from curated as cu
full outer join lifecycle as lc
    on cu.engagement_ref = lc.engagement_ref
   and cu.candidate_ref = lc.candidate_ref
where cu.engagement_ref is null
   or lc.engagement_ref is null
   or cu.status is distinct from lc.status
   or cu.source is distinct from lc.source
   or cu.employer_ref is distinct from lc.employer_ref
   or cu.posted_at is distinct from lc.posted_at
   or cu.started_at is distinct from lc.started_at
   or cu.ended_at is distinct from lc.ended_at
   or cu.cancelled_by is distinct from lc.cancelled_by
