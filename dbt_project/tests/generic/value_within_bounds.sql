{#
  `column_name` lies inside [min_column, max_column], both taken from the same row (null value passes; null
  max is unbounded; null min means the bound is unknown, which fails). Returns the offending rows.
#}
{% test value_within_bounds(model, column_name, min_column, max_column) %}
select *
from {{ model }}
where {{ column_name }} is not null
  and (
      {{ min_column }} is null
      or {{ column_name }} < {{ min_column }}
      or ({{ max_column }} is not null and {{ column_name }} > {{ max_column }})
  )
{% endtest %}
