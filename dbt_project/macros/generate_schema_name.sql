{#
  Schema naming, identical on every target (dbt's default differs only in not being written down here):
    marts (no custom schema)          -> <target.schema>               e.g. hiring_signals
    +schema: staging / intermediate   -> <target.schema>_<custom>      e.g. hiring_signals_staging
    seeds (+schema: seeds)            -> <target.schema>_seeds
  The loader writes curated data to <target.schema>_landing (the `curated` source). target.schema is
  HS_WAREHOUSE_SCHEMA, so one variable moves the whole warehouse (tests use a unique one per session).
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ target.schema | trim }}_{{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
