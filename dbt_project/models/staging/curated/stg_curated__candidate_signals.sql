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
        cast(feature_version as text) as feature_version

    from source

)

select * from renamed
