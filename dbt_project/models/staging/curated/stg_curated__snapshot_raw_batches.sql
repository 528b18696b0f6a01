with

source as (

    select * from {{ source('curated', 'snapshot_raw_batches') }}

),

renamed as (

    select
        cast(as_of_date as date) as as_of_date,
        cast(batch_id as text) as batch_id

    from source

)

select * from renamed
