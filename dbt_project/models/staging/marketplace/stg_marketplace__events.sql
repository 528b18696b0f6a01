-- The marketplace's raw events, typed. Its engagements go through the whole funnel in its own vocabulary:
-- a posting, applications, a start, a completion or cancellation, and (after completion) job offers.

with

source as (

    select * from {{ source('marketplace', 'events') }}
    where source = 'marketplace'

),

renamed as (

    select
        {{ raw_event_columns() }},
        cast(
            case event_type
                when 'engagement.posted' then 'posted'
                when 'application.submitted' then 'applied'
                when 'engagement.started' then 'started'
                when 'engagement.completed' then 'completed'
                when 'engagement.cancelled' then 'cancelled'
                when 'offer.extended' then 'offer'
            end
        as text) as funnel_step

    from source

)

select * from renamed
