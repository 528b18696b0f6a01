with

source as (

    select * from {{ source('curated', 'candidates') }}

),

renamed as (

    select
        cast(as_of_date as date) as as_of_date,
        cast(candidate_ref as text) as candidate_ref,
        cast(first_event_at as timestamp with time zone) as first_event_at,
        cast(last_event_at as timestamp with time zone) as last_event_at,
        cast(event_count as bigint) as event_count,
        cast(sources as text) as sources,
        -- `sources` is comma-separated and sorted; count its entries portably (no array functions).
        cast(
            case
                when sources is null or sources = '' then 0
                else length(sources) - length(replace(sources, ',', '')) + 1
            end
        as integer) as source_count

    from source

)

select * from renamed
