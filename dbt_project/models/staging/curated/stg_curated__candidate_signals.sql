with

source as (

    select * from {{ source('curated', 'candidate_signals') }}

),

renamed as (

    select
        cast(as_of_date as date) as as_of_date,
        cast(candidate_ref as text) as candidate_ref,
        cast(signal as text) as signal,
        cast(value as double precision) as signal_value,
        cast(evidence_count as bigint) as evidence_count,
        cast(window_days as integer) as window_days,
        cast(feature_version as text) as feature_version,
        cast(vocabulary_version as text) as vocabulary_version,
        cast(rubric_version as text) as rubric_version,
        cast(reason as text) as reason,
        cast(explanation as text) as explanation

    from source

)

select * from renamed
