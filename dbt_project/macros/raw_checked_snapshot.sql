{#
  The published snapshot (int_latest_snapshot) when the raw batches it was built from are recorded
  (snapshot_raw_batches), else nothing. The cross-checks of the event-level marts against the curated
  snapshot compare only such a snapshot: one loaded without its raw batches (curated loaded by hand, or by a
  loader from before raw loading) has no event-level marts to compare, and snapshot_raw_batches_are_loaded
  fails if a recorded batch is missing from raw_events.
#}
{% macro raw_checked_snapshot() -%}
    select l.as_of_date
    from {{ ref('int_latest_snapshot') }} as l
    where exists (
        select 1
        from {{ ref('stg_curated__snapshot_raw_batches') }} as b
        where b.as_of_date = l.as_of_date
    )
{%- endmacro %}
