{# Fails when the model is empty: an empty mart is a broken pipeline, not a quiet day. #}
{% test at_least_one_row(model) %}
select 1 as empty_model
where not exists (select 1 from {{ model }})
{% endtest %}
