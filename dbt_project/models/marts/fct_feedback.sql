-- One row per mentor feedback event known to the published snapshot: the rubric it was given on, the four
-- dimension scores (hs-rubric-v1: quality, communication, timeliness, skill fit, 1-5) and would_rehire.
-- Like the signal job (feedback_scores), the scores are all or nothing: a review missing any dimension keeps
-- null scores and is_complete false, and does not count toward means.

with

feedback as (

    select
        source,
        event_id,
        engagement_ref,
        candidate_ref,
        employer_ref,
        occurred_at,
        as_of_date,
        {{ hiring_signals.json_value('payload', 'rubric_id') }} as rubric_id,
        {{ hiring_signals.json_value('payload', 'rubric_version', 'integer') }} as rubric_version,
        {{ hiring_signals.json_value('payload', 'would_rehire', 'boolean') }} as would_rehire,
        {{ hiring_signals.json_value('payload', 'scores.quality', 'integer') }} as quality,
        {{ hiring_signals.json_value('payload', 'scores.communication', 'integer') }} as communication,
        {{ hiring_signals.json_value('payload', 'scores.timeliness', 'integer') }} as timeliness,
        {{ hiring_signals.json_value('payload', 'scores.skill_fit', 'integer') }} as skill_fit
    from {{ ref('int_events_deduplicated') }}
    where event_type = 'feedback.recorded'
      and engagement_ref is not null
      and candidate_ref is not null

),

scored as (

    select
        feedback.*,
        (quality is not null and communication is not null and timeliness is not null
         and skill_fit is not null) as is_complete
    from feedback

),

final as (

    select
        cast(source as text) as source,
        cast(event_id as text) as event_id,
        cast(engagement_ref as text) as engagement_ref,
        cast(candidate_ref as text) as candidate_ref,
        cast(employer_ref as text) as employer_ref,
        cast(as_of_date as date) as as_of_date,
        cast(occurred_at as timestamp with time zone) as recorded_at,
        cast(rubric_id as text) as rubric_id,
        cast(rubric_version as integer) as rubric_version,
        cast(is_complete as boolean) as is_complete,
        cast(case when is_complete then quality end as integer) as score_quality,
        cast(case when is_complete then communication end as integer) as score_communication,
        cast(case when is_complete then timeliness end as integer) as score_timeliness,
        cast(case when is_complete then skill_fit end as integer) as score_skill_fit,
        cast(
            case when is_complete then (quality + communication + timeliness + skill_fit) / 4.0 end
        as double precision) as mean_score,
        cast(would_rehire as boolean) as would_rehire

    from scored

)

select * from final
