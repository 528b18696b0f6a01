{#
  Seconds since the Unix epoch of a timestamp (with time zone), as double precision.
  PostgreSQL's extract(epoch ...) returns numeric and DuckDB's returns double, so the cast keeps contracts
  identical; dispatched so an adapter without extract(epoch ...) can override it (<adapter>__epoch_seconds).
#}
{% macro epoch_seconds(expr) -%}
    {{ return(adapter.dispatch('epoch_seconds', 'hiring_signals')(expr)) }}
{%- endmacro %}

{% macro default__epoch_seconds(expr) -%}
    cast(extract(epoch from {{ expr }}) as double precision)
{%- endmacro %}

{# Elapsed days (fractional) between two timestamps; null when either is null. #}
{% macro days_between(start_expr, end_expr) -%}
    (({{ hiring_signals.epoch_seconds(end_expr) }}) - ({{ hiring_signals.epoch_seconds(start_expr) }})) / 86400.0
{%- endmacro %}

{#
  The knowledge-time cut of an as-of date D: D+1 00:00 UTC as a timestamp with time zone (hiring_signals
  pipeline.as_of_end). Spelt with `at time zone 'UTC'` so the session time zone cannot shift it.
#}
{% macro as_of_end(date_expr) -%}
    ((cast({{ date_expr }} as timestamp) + interval '1 day') at time zone 'UTC')
{%- endmacro %}
