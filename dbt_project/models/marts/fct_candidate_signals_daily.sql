{#-
  Signal history: one row per candidate, signal and as_of_date, for every loaded day.

  Incremental by PARTITION REPLACEMENT: delete+insert with unique_key = as_of_date deletes every stored row of
  each as_of_date the increment carries and inserts the new rows, so a re-loaded day is replaced exactly (rows
  dropped upstream disappear too) - the warehouse mirror of the loader's partition replace. The increment is
  every as_of_date whose CONTENT differs from the one stored: load_log.content_sha256 of its candidate_signals
  partition (a hash of the loaded rows, computed by the loader) is compared with the hash stored on the day's
  rows here. New days, changed re-loads and late backfills are rebuilt; re-loading identical data changes
  nothing, so a rerun of the same interval leaves this mart row-for-row identical. No wall-clock value
  (load_log.loaded_at / load_id) is read, and there is no clock or look-back window to get wrong.
  delete+insert is implemented by dbt-postgres and dbt-duckdb alike. Grain is enforced by the
  unique_combination test. A table built before content hashes (with a loaded_at column) needs one
  --full-refresh: append_new_columns (contracted incremental models allow nothing else) would add content_sha256
  but keep the old loaded_at column.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='as_of_date',
        on_schema_change='append_new_columns',
    )
}}

with

signals as (

    select * from {{ ref('int_candidate_signals_catalogued') }}

),

loads as (

    select as_of_date, content_sha256
    from {{ ref('stg_curated__load_log') }}
    where dataset = 'candidate_signals'

),

partitions as (

    select distinct
        s.as_of_date,
        ld.content_sha256
    from signals as s
    left join loads as ld
        on s.as_of_date = ld.as_of_date

    {% if is_incremental() %}
    -- only partitions not yet stored with this exact content (a null hash - no load-log row, or one written
    -- before the loader recorded hashes - never matches, so such a day is always rebuilt)
    where not exists (
        select 1
        from {{ this }} as t
        where t.as_of_date = s.as_of_date
          and t.content_sha256 = ld.content_sha256
    )
    {% endif %}

),

final as (

    select
        cast(s.candidate_ref as text) as candidate_ref,
        cast(s.signal as text) as signal,
        cast(s.as_of_date as date) as as_of_date,
        cast(s.signal_value as double precision) as signal_value,
        cast(s.evidence_count as bigint) as evidence_count,
        cast(s.window_days as integer) as window_days,
        cast(s.feature_version as text) as feature_version,
        cast(p.content_sha256 as text) as content_sha256,
        -- after content_sha256: a table built before these columns existed gets them appended in this order
        cast(s.vocabulary_version as text) as vocabulary_version,
        cast(s.rubric_version as text) as rubric_version,
        cast(s.reason as text) as reason,
        cast(s.explanation as text) as explanation

    from signals as s
    inner join partitions as p
        on s.as_of_date = p.as_of_date

)

select * from final
