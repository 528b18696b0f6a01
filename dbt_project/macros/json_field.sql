{#
  One field of a JSON object nested one level down: `expr` -> key -> field, as text (json_text) or as double
  precision (json_number); null when absent or JSON null. Dispatched because the engines spell JSON access
  differently: PostgreSQL's -> / ->> operators, DuckDB's json_extract_string with a JSON path.
  `key` and `field` are identifiers chosen by the project (component names), never user input.
#}
{% macro json_text(expr, key, field) -%}
    {{ return(adapter.dispatch('json_text', 'hiring_signals')(expr, key, field)) }}
{%- endmacro %}

{% macro default__json_text(expr, key, field) -%}
    (cast({{ expr }} as json) -> '{{ key }}' ->> '{{ field }}')
{%- endmacro %}

{% macro duckdb__json_text(expr, key, field) -%}
    json_extract_string({{ expr }}, '$.{{ key }}.{{ field }}')
{%- endmacro %}

{% macro json_number(expr, key, field) -%}
    cast({{ hiring_signals.json_text(expr, key, field) }} as double precision)
{%- endmacro %}
