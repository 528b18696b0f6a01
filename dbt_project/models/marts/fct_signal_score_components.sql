{#-
  Why each candidate has the signal_score they have: one row per candidate and composite component at the
  latest complete snapshot, unpacked from signal_score's explanation (written by the Spark job), with the
  component's weight from the seed signal_score_components (= SCORE_COMPONENTS, the one place weights live).
  Tests check the published numbers against the documented formula: points = weight x normalised, and the
  points of a candidate add up to their signal_score.
-#}

with

pivoted as (

    select candidate_ref, as_of_date, signal_score, signal_score_explanation
    from {{ ref('int_candidate_signals_pivoted') }}
    where signal_score_explanation is not null

),

weights as (

    select * from {{ ref('signal_score_components') }}

),

unpacked as (

    {%- for c in var('score_components') %}
    select
        candidate_ref,
        as_of_date,
        signal_score,
        '{{ c }}' as component,
        {{ loop.index }} as component_order,
        {{ hiring_signals.json_text('signal_score_explanation', c, 'signal') }} as input_signal,
        {{ hiring_signals.json_number('signal_score_explanation', c, 'value') }} as input_value,
        {{ hiring_signals.json_number('signal_score_explanation', c, 'evidence') }} as evidence,
        {{ hiring_signals.json_number('signal_score_explanation', c, 'normalised') }} as normalised,
        {{ hiring_signals.json_number('signal_score_explanation', c, 'weight') }} as explained_weight,
        {{ hiring_signals.json_number('signal_score_explanation', c, 'points') }} as points
    from pivoted
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

final as (

    select
        cast(u.candidate_ref as text) as candidate_ref,
        cast(u.as_of_date as date) as as_of_date,
        cast(u.component as text) as component,
        cast(u.component_order as integer) as component_order,
        cast(u.input_signal as text) as input_signal,
        cast(u.input_value as double precision) as input_value,
        cast(u.evidence as bigint) as evidence,
        cast(u.normalised as double precision) as normalised,
        cast(w.weight as double precision) as weight,
        cast(u.explained_weight as double precision) as explained_weight,
        cast(u.points as double precision) as points,
        cast(w.weight - u.points as double precision) as points_short_of_weight,
        cast(u.signal_score as double precision) as signal_score

    from unpacked as u
    left join weights as w
        on u.component = w.component

)

select * from final
