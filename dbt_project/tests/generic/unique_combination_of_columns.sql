{#
  The grain test: no two rows share the combination of `combination_of_columns`.
  (Same contract as dbt_utils.unique_combination_of_columns; written here because the project has no packages.)
#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
{%- set cols = combination_of_columns | join(', ') %}
select {{ cols }}, count(*) as n_rows
from {{ model }}
group by {{ cols }}
having count(*) > 1
{% endtest %}
