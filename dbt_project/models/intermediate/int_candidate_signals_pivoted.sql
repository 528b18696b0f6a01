-- Long -> wide: one row per candidate at the latest complete snapshot, with a <signal> value column and a
-- <signal>_evidence count column for every signal in var('signals'), the versions the snapshot was computed
-- with, and the composite's reason and explanation. A signal missing for a candidate gets a null value and zero
-- evidence.

with

latest as (

    select as_of_date from {{ ref('int_latest_snapshot') }}

),

signals as (

    select s.*
    from {{ ref('int_candidate_signals_catalogued') }} as s
    inner join latest as l
        on s.as_of_date = l.as_of_date

),

pivoted as (

    select
        candidate_ref,
        as_of_date,
        max(feature_version) as feature_version,
        max(vocabulary_version) as vocabulary_version,
        max(rubric_version) as rubric_version,
        max(case when signal = 'signal_score' then reason end) as signal_score_reason,
        max(case when signal = 'signal_score' then explanation end) as signal_score_explanation,
        {%- for signal in var('signals') %}
        max(case when signal = '{{ signal }}' then signal_value end) as {{ signal }},
        coalesce(max(case when signal = '{{ signal }}' then evidence_count end), 0) as {{ signal }}_evidence
        {{- "," if not loop.last }}
        {%- endfor %}

    from signals
    group by candidate_ref, as_of_date

)

select * from pivoted
