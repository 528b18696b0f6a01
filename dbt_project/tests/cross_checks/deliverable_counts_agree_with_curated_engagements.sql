-- SQL and Spark judge deliverables the same way: per engagement x candidate of the curated snapshot,
-- deliverables_submitted / deliverables_on_time equal the counts in fct_deliverables (first submission only).
-- Returns the disagreeing engagements.
with

checked as ({{ raw_checked_snapshot() }}),

curated as (

    select e.engagement_ref, e.candidate_ref, e.deliverables_submitted, e.deliverables_on_time
    from {{ ref('stg_curated__engagements') }} as e
    inner join checked as c
        on e.as_of_date = c.as_of_date

),

counted as (

    select
        engagement_ref,
        candidate_ref,
        sum(case when is_submitted then 1 else 0 end) as submitted,
        sum(case when is_on_time then 1 else 0 end) as on_time
    from {{ ref('fct_deliverables') }}
    group by engagement_ref, candidate_ref

)

select cu.*, co.submitted, co.on_time
from curated as cu
left join counted as co
    on cu.engagement_ref = co.engagement_ref
   and cu.candidate_ref = co.candidate_ref
where cu.deliverables_submitted <> coalesce(co.submitted, 0)
   or cu.deliverables_on_time <> coalesce(co.on_time, 0)
