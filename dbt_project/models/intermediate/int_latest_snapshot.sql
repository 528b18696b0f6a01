-- The snapshot the marts publish: the newest as_of_date for which EVERY curated dataset has been loaded.
-- A day whose loads are still under way (say candidate_signals loaded, engagements not yet) is not published,
-- so dim_candidates, fct_engagements and candidate_signal_feed always describe the same date. Built on the
-- loader's load_log, so a day with zero engagements still counts as loaded. Only as_of_date is exposed: load
-- times are wall clock and would make a rerun of the same data change the marts that join to this model.

with

load_log as (

    select * from {{ ref('stg_curated__load_log') }}

),

complete_snapshots as (

    select as_of_date

    from load_log
    where dataset in (
        {%- for d in var('curated_datasets') %}'{{ d }}'{{ ", " if not loop.last }}{% endfor -%}
    )
    group by as_of_date
    having count(distinct dataset) = {{ var('curated_datasets') | length }}

),

latest as (

    select as_of_date

    from complete_snapshots
    where as_of_date = (select max(as_of_date) from complete_snapshots)

)

select * from latest
