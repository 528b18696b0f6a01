-- The latest signals per candidate (what the ATS feed publishes): one row per candidate at the latest
-- complete snapshot, a value and an evidence count for every signal in the catalog, the versions they were
-- computed with, and the composite score's reason and per-component explanation.

with

pivoted as (

    select * from {{ ref('int_candidate_signals_pivoted') }}

),

final as (

    select
        cast(candidate_ref as text) as candidate_ref,
        cast(as_of_date as date) as as_of_date,
        cast(feature_version as text) as feature_version,
        cast(vocabulary_version as text) as vocabulary_version,
        cast(rubric_version as text) as rubric_version,
        {%- for signal in var('signals') %}
        cast({{ signal }} as double precision) as {{ signal }},
        cast({{ signal }}_evidence as bigint) as {{ signal }}_evidence,
        {%- endfor %}
        cast(signal_score_reason as text) as signal_score_reason,
        cast(signal_score_explanation as text) as signal_score_explanation

    from pivoted

)

select * from final
