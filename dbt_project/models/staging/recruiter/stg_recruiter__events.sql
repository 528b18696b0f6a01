-- Contract-recruiter placements from agency file drops, typed. Quirks: one engagement_ref is one placement
-- pipeline row (one candidate x one client job, "<agency>:<placement_id>"), source_tenant is the agency, and
-- the pipeline speaks placement.* events: a submittal is the "applied" step, a client offer the "offer" step
-- (it comes BEFORE the start here), a start the "started" step, a fall-off ends it like a cancellation.
-- Placements never "complete", and never count as engagements in the signal job's lifecycle.

with

source as (

    select * from {{ source('recruiter', 'events') }}
    where source = 'recruiter'

),

renamed as (

    select
        {{ raw_event_columns() }},
        cast(
            case event_type
                when 'placement.submitted' then 'applied'
                when 'placement.offered' then 'offer'
                when 'placement.started' then 'started'
                when 'placement.fell_off' then 'cancelled'
            end
        as text) as funnel_step

    from source

)

select * from renamed
