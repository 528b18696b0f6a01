with

source as (

    select * from {{ source('curated', 'engagements') }}

),

renamed as (

    select
        cast(as_of_date as date) as as_of_date,
        cast(engagement_ref as text) as engagement_ref,
        cast(candidate_ref as text) as candidate_ref,
        cast(employer_ref as text) as employer_ref,
        cast(source as text) as source,
        cast(title as text) as title,
        cast(category as text) as category,
        cast(status as text) as status,
        cast(cancelled_by as text) as cancelled_by,
        cast(posted_at as timestamp with time zone) as posted_at,
        cast(started_at as timestamp with time zone) as started_at,
        cast(ended_at as timestamp with time zone) as ended_at,
        cast(deliverables_submitted as bigint) as deliverables_submitted,
        cast(deliverables_on_time as bigint) as deliverables_on_time,
        cast(feedback_count as bigint) as feedback_count,
        cast(mean_rubric_score as double precision) as mean_rubric_score,
        cast(skills as text) as skills

    from source

)

select * from renamed
