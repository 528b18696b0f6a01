-- SQL and Spark agree on which credentials are active as of the snapshot: per candidate of the published
-- signals, the active_verified_credentials signal equals the active rows of fct_credentials.
-- Returns the disagreeing candidates.
with

checked as ({{ raw_checked_snapshot() }}),

signals as (

    select p.candidate_ref, p.active_verified_credentials
    from {{ ref('int_candidate_signals_pivoted') }} as p
    inner join checked as c
        on p.as_of_date = c.as_of_date

),

active as (

    select candidate_ref, sum(case when is_active then 1 else 0 end) as active_credentials
    from {{ ref('fct_credentials') }}
    group by candidate_ref

)

select s.*, a.active_credentials
from signals as s
left join active as a
    on s.candidate_ref = a.candidate_ref
where s.active_verified_credentials is distinct from cast(coalesce(a.active_credentials, 0) as double precision)
