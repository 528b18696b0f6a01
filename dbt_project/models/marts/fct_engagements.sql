-- One row per engagement and candidate at the latest complete snapshot: lifecycle status, timing,
-- deliverables with on-time rate, and feedback.

with

latest as (

    select as_of_date from {{ ref('int_latest_snapshot') }}

),

engagements as (

    select e.*
    from {{ ref('stg_curated__engagements') }} as e
    inner join latest as l
        on e.as_of_date = l.as_of_date

),

final as (

    select
        cast(engagement_ref as text) as engagement_ref,
        cast(candidate_ref as text) as candidate_ref,
        cast(as_of_date as date) as as_of_date,
        cast(employer_ref as text) as employer_ref,
        cast(source as text) as source,
        cast(title as text) as title,
        cast(category as text) as category,
        cast(status as text) as status,
        cast(cancelled_by as text) as cancelled_by,
        cast(status = 'completed' as boolean) as is_completed,
        cast(status = 'cancelled' as boolean) as is_cancelled,
        cast(posted_at as timestamp with time zone) as posted_at,
        cast(started_at as timestamp with time zone) as started_at,
        cast(ended_at as timestamp with time zone) as ended_at,
        cast({{ days_between('posted_at', 'started_at') }} as double precision) as days_posted_to_started,
        cast({{ days_between('started_at', 'ended_at') }} as double precision) as duration_days,
        cast(deliverables_submitted as bigint) as deliverables_submitted,
        cast(deliverables_on_time as bigint) as deliverables_on_time,
        cast(deliverables_submitted - deliverables_on_time as bigint) as deliverables_late,
        cast(
            case
                when deliverables_submitted > 0
                    then cast(deliverables_on_time as double precision) / deliverables_submitted
            end
        as double precision) as on_time_rate,
        -- true when every submitted deliverable was on time; null when nothing was submitted yet
        cast(
            case
                when deliverables_submitted > 0 then deliverables_on_time = deliverables_submitted
            end
        as boolean) as is_on_time,
        cast(feedback_count as bigint) as feedback_count,
        cast(mean_rubric_score as double precision) as mean_rubric_score,
        cast(skills as text) as skills

    from engagements

)

select * from final
