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

{#
  A field of a JSON text `expr` at a dotted `path` (e.g. 'scores.quality'), cast to `data_type` (default text);
  null when absent or JSON null. Raw payloads are validated against their JSON Schema at ingestion, so a cast
  only meets values of the declared type. `path` is chosen by the project (payload field names), never user
  input. Dispatched: PostgreSQL's #>> with a text[] path, DuckDB's json_extract_string with a JSON path.
#}
{% macro json_value(expr, path, data_type='text') -%}
    {%- set extracted = adapter.dispatch('json_value_text', 'hiring_signals')(expr, path) -%}
    {%- if data_type == 'text' -%}
        {{ extracted }}
    {%- else -%}
        cast({{ extracted }} as {{ data_type }})
    {%- endif -%}
{%- endmacro %}

{% macro default__json_value_text(expr, path) -%}
    (cast({{ expr }} as jsonb) #>> '{{ "{" ~ (path.split(".") | join(",")) ~ "}" }}')
{%- endmacro %}

{% macro duckdb__json_value_text(expr, path) -%}
    json_extract_string({{ expr }}, '$.{{ path }}')
{%- endmacro %}
