with

source as (

    select * from {{ source('curated', 'load_log') }}

),

renamed as (

    select
        cast(dataset as text) as dataset,
        cast(as_of_date as date) as as_of_date,
        cast(row_count as bigint) as row_count,
        cast(content_sha256 as text) as content_sha256,
        cast(loaded_at as timestamp with time zone) as loaded_at,
        cast(load_id as text) as load_id

    from source

)

select * from renamed
