-- One row per candidate_ref known to the published snapshot, with the sources it appears in. Identity across
-- sources needs no matching here: candidate_ref is the keyed HMAC of the normalised email, computed at load,
-- so the same person has the same ref in every source. The figures follow the signal job's `candidates`
-- dataset (first/last event, event count, sorted sources), which a data test holds them to.

with

events as (

    select * from {{ ref('int_events_deduplicated') }}
    where candidate_ref is not null

),

per_candidate as (

    select
        candidate_ref,
        min(as_of_date) as as_of_date,
        min(occurred_at) as first_event_at,
        max(occurred_at) as last_event_at,
        count(*) as event_count
    from events
    group by candidate_ref

),

candidate_sources as (

    select distinct candidate_ref, source
    from events

),

sources as (

    select
        candidate_ref,
        string_agg(source, ',' order by source) as sources,
        count(*) as source_count
    from candidate_sources
    group by candidate_ref

),

final as (

    select
        p.candidate_ref,
        p.as_of_date,
        p.first_event_at,
        p.last_event_at,
        p.event_count,
        s.sources,
        s.source_count
    from per_candidate as p
    inner join sources as s
        on p.candidate_ref = s.candidate_ref

)

select * from final
