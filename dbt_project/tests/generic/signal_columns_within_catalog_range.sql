{#
  Wide format (candidate_signal_feed): for every signal in var('signals'), the `<signal>` column lies inside the
  catalog's [min_value, max_value] and `<signal>_evidence` is >= 0. Returns one row per violation.
#}
{% test signal_columns_within_catalog_range(model, key_column='candidate_ref') %}
with unpivoted as (
    {%- for s in var('signals') %}
    select {{ key_column }} as row_key, '{{ s }}' as signal, {{ s }} as value, {{ s }}_evidence as evidence
    from {{ model }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
)
select u.row_key, u.signal, u.value, u.evidence, c.min_value, c.max_value
from unpivoted as u
left join {{ ref('signal_catalog') }} as c
    on u.signal = c.signal
where c.signal is null
   or u.evidence is null
   or u.evidence < 0
   or (u.value is not null and (u.value < c.min_value or (c.max_value is not null and u.value > c.max_value)))
{% endtest %}
