{#
  The typed, renamed columns every stg_<source>__events model selects from the raw_events source (contract v1,
  hiring_signals.contract.raw_schema). One list, so the three staging models union column for column;
  source_extras is left out on purpose (unknown source fields are kept in raw, never used).
#}
{% macro raw_event_columns() -%}
        cast(event_id as text) as event_id,
        cast(source as text) as source,
        cast(source_tenant as text) as source_tenant,
        cast(event_type as text) as event_type,
        cast(event_version as integer) as event_version,
        cast(occurred_at as timestamp with time zone) as occurred_at,
        cast(source_updated_at as timestamp with time zone) as source_updated_at,
        cast(ingested_at as timestamp with time zone) as ingested_at,
        cast(candidate_ref as text) as candidate_ref,
        cast(employer_ref as text) as employer_ref,
        cast(engagement_ref as text) as engagement_ref,
        cast(remote_id as text) as remote_id,
        cast(payload as text) as payload,
        cast(batch_id as text) as batch_id
{%- endmacro %}
