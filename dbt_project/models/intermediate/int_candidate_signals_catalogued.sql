-- Every candidate signal row (all as_of_dates) with its catalog entry (unit and valid range) attached.
-- The range and catalog tests live on THIS model on purpose: dbt build skips everything downstream of a failing
-- single-parent test, so an out-of-range value stops candidate_signal_feed and fct_candidate_signals_daily from
-- being rebuilt and the previously published marts stay as they were. (A test that also refs the seed from a
-- staging model would not block models that do not depend on the seed.)

with

signals as (

    select * from {{ ref('stg_curated__candidate_signals') }}

),

catalog as (

    select * from {{ ref('signal_catalog') }}

),

catalogued as (

    select
        s.as_of_date,
        s.candidate_ref,
        s.signal,
        s.signal_value,
        s.evidence_count,
        s.window_days,
        s.feature_version,
        s.vocabulary_version,
        s.rubric_version,
        s.reason,
        s.explanation,
        c.unit as signal_unit,
        cast(c.min_value as double precision) as signal_min_value,
        cast(c.max_value as double precision) as signal_max_value

    from signals as s
    left join catalog as c
        on s.signal = c.signal

)

select * from catalogued
