-- Every raw batch the published snapshot was built from is loaded (has a raw_load_log row): otherwise the
-- event-level marts would silently describe fewer events than the signals. Returns the missing batches.
with

snapshot_batches as (

    select b.batch_id
    from {{ ref('stg_curated__snapshot_raw_batches') }} as b
    inner join {{ ref('int_latest_snapshot') }} as l
        on b.as_of_date = l.as_of_date

),

loaded as (

    select batch_id from {{ source('marketplace', 'load_log') }}
    union all
    select batch_id from {{ source('gig', 'load_log') }}
    union all
    select batch_id from {{ source('recruiter', 'load_log') }}

)

select s.batch_id
from snapshot_batches as s
where not exists (select 1 from loaded as ld where ld.batch_id = s.batch_id)
