-- SQL and Spark read mentor feedback the same way: per engagement x candidate of the curated snapshot,
-- feedback_count = complete reviews in fct_feedback and mean_rubric_score = the mean of their mean scores.
-- Returns the disagreeing engagements.
with

checked as ({{ raw_checked_snapshot() }}),

curated as (

    select e.engagement_ref, e.candidate_ref, e.feedback_count, e.mean_rubric_score
    from {{ ref('stg_curated__engagements') }} as e
    inner join checked as c
        on e.as_of_date = c.as_of_date

),

reviews as (

    select
        engagement_ref,
        candidate_ref,
        count(*) as complete_reviews,
        avg(mean_score) as mean_score
    from {{ ref('fct_feedback') }}
    where is_complete
    group by engagement_ref, candidate_ref

)

select cu.*, r.complete_reviews, r.mean_score
from curated as cu
left join reviews as r
    on cu.engagement_ref = r.engagement_ref
   and cu.candidate_ref = r.candidate_ref
where cu.feedback_count <> coalesce(r.complete_reviews, 0)
   or (cu.mean_rubric_score is null) <> (r.mean_score is null)
   or abs(cu.mean_rubric_score - r.mean_score) > 1e-9
