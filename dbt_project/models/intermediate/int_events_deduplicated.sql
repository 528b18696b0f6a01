-- The events the published snapshot knows, once each: the same cut and de-duplication as the signal job
-- (spark_jobs/candidate_signals/transforms.py known_as_of + dedupe_events), so every event-level mart agrees
-- with the curated snapshot it is published beside.
--   1. only the raw batches the snapshot was built from (stg_curated__snapshot_raw_batches),
--   2. known as of the snapshot: occurred_at < as_of_end and ingested_at <= as_of_end (as_of_end = D+1 UTC),
--   3. one row per (source, event_id): the earliest ingested delivery; ties break on batch_id,
--      source_updated_at (nulls last), occurred_at and payload, as in Spark, so the survivor never depends on
--      load order.
-- A table, not a view: six models read it, and the de-duplication window over every raw event is the
-- expensive step; computed once per build instead of once per reader.

{{ config(materialized='table') }}

with

latest as (

    select
        as_of_date,
        {{ as_of_end('as_of_date') }} as as_of_end
    from {{ ref('int_latest_snapshot') }}

),

snapshot_batches as (

    select b.batch_id
    from {{ ref('stg_curated__snapshot_raw_batches') }} as b
    inner join latest as l
        on b.as_of_date = l.as_of_date

),

events as (

    select * from {{ ref('stg_marketplace__events') }}
    union all
    select * from {{ ref('stg_gig__events') }}
    union all
    select * from {{ ref('stg_recruiter__events') }}

),

known as (

    select
        e.*,
        l.as_of_date,
        l.as_of_end
    from events as e
    inner join snapshot_batches as b
        on e.batch_id = b.batch_id
    cross join latest as l
    where e.occurred_at < l.as_of_end
      and e.ingested_at <= l.as_of_end

),

ranked as (

    select
        known.*,
        row_number() over (
            partition by source, event_id
            order by ingested_at asc, batch_id asc, source_updated_at asc nulls last, occurred_at asc, payload asc
        ) as delivery_rank
    from known

),

first_deliveries as (

    select
        event_id,
        source,
        source_tenant,
        event_type,
        event_version,
        occurred_at,
        source_updated_at,
        ingested_at,
        candidate_ref,
        employer_ref,
        engagement_ref,
        remote_id,
        payload,
        batch_id,
        funnel_step,
        as_of_date,
        as_of_end
    from ranked
    where delivery_rank = 1

)

select * from first_deliveries
