-- The gig platform's raw events, typed. Quirk: the platform posts nothing and takes no applications - a client
-- offers a contract straight to a worker (mapped at ingestion to application.decided, which carries the
-- scope), so the contract offer is the gig funnel's "applied" step and its funnel has no "posted" step.

with

source as (

    select * from {{ source('gig', 'events') }}
    where source = 'gig'

),

renamed as (

    select
        {{ raw_event_columns() }},
        cast(
            case event_type
                when 'application.decided' then 'applied'
                when 'engagement.started' then 'started'
                when 'engagement.completed' then 'completed'
                when 'engagement.cancelled' then 'cancelled'
                when 'offer.extended' then 'offer'
            end
        as text) as funnel_step

    from source

)

select * from renamed
