{# Every row satisfies a boolean SQL `expression` (rows where it is false or null fail). Usable on a model or a column. #}
{% test expression_is_true(model, expression, column_name=none) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{% endtest %}
