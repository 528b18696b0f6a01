{#
  Fails when the model is empty: an empty mart is a broken pipeline, not a quiet day.

  With `expected_if_rows_in` (a relation) the model may be empty only while that relation has no row matching
  `expected_if_where`: a mart that is legitimately empty early in history (fct_engagements on a first snapshot
  that knows postings, applications and placements but no engagement start yet) must not block publication,
  but one that is empty although its evidence is there still fails.
#}
{% test at_least_one_row(model, expected_if_rows_in=none, expected_if_where=none) %}
select 1 as empty_model
where not exists (select 1 from {{ model }})
{%- if expected_if_rows_in is not none %}
    and exists (
        select 1 from {{ expected_if_rows_in }}
        {%- if expected_if_where %} where {{ expected_if_where }}{% endif %}
    )
{%- endif %}
{% endtest %}
