{#
  Long format: `column_name` (a signal value) lies inside [min_value, max_value] of the catalog row named by
  `signal_column` (seeds/signal_catalog.csv, i.e. SIGNALS). Null values pass (no evidence); a null max_value is
  unbounded. Returns the offending rows.
#}
{% test within_signal_catalog_range(model, column_name, signal_column='signal') %}
select
    m.{{ signal_column }} as signal,
    m.{{ column_name }} as value,
    c.min_value,
    c.max_value
from {{ model }} as m
inner join {{ ref('signal_catalog') }} as c
    on m.{{ signal_column }} = c.signal
where m.{{ column_name }} is not null
  and (
      m.{{ column_name }} < c.min_value
      or (c.max_value is not null and m.{{ column_name }} > c.max_value)
  )
{% endtest %}
