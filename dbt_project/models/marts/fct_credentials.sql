-- One row per candidate credential (candidate_ref x credential_id) issued and known to the published snapshot:
-- its latest issue (validity window, verification), its latest status re-check, and whether it is active at
-- the snapshot's knowledge-time cut, by the signal job's rule (transforms.credential_states):
--   latest issue verified, valid_from <= as_of_end < valid_until (half-open; open-ended without valid_until),
--   and the latest re-check (if any) neither revoked/suspended/expired nor a failed re-verification.
-- "Latest" = greatest (occurred_at, event_id), as Spark's max(struct).

with

events as (

    select
        candidate_ref,
        source,
        event_id,
        event_type,
        occurred_at,
        as_of_date,
        as_of_end,
        {{ hiring_signals.json_value('payload', 'credential_id') }} as credential_id,
        {{ hiring_signals.json_value('payload', 'issuer') }} as issuer,
        {{ hiring_signals.json_value('payload', 'achievement') }} as achievement,
        {{ hiring_signals.json_value('payload', 'valid_from', 'timestamp with time zone') }} as valid_from,
        {{ hiring_signals.json_value('payload', 'valid_until', 'timestamp with time zone') }} as valid_until,
        {{ hiring_signals.json_value('payload', 'verification_result') }} as verification_result,
        {{ hiring_signals.json_value('payload', 'status') }} as status
    from {{ ref('int_events_deduplicated') }}
    where event_type in ('credential.issued', 'credential.status_changed')
      and candidate_ref is not null

),

ranked as (

    select
        events.*,
        row_number() over (
            partition by candidate_ref, credential_id, event_type order by occurred_at desc, event_id desc
        ) as recency_rank,
        count(*) over (partition by candidate_ref, credential_id, event_type) as events_of_type
    from events
    where credential_id is not null

),

issues as (

    select * from ranked where event_type = 'credential.issued' and recency_rank = 1

),

checks as (

    select * from ranked where event_type = 'credential.status_changed' and recency_rank = 1

),

judged as (

    select
        i.candidate_ref,
        i.credential_id,
        i.as_of_date,
        i.source,
        i.issuer,
        i.achievement,
        i.occurred_at as issued_at,
        i.events_of_type as issue_count,
        i.valid_from,
        i.valid_until,
        i.verification_result,
        c.status as latest_status,
        c.verification_result as latest_check_verification_result,
        c.occurred_at as status_changed_at,
        (i.verification_result = 'verified'
         and (c.verification_result is null or c.verification_result = 'verified')) as is_verified,
        (i.valid_from <= i.as_of_end and (i.valid_until is null or i.valid_until > i.as_of_end)) as is_within_validity,
        (c.status is null or c.status not in ('revoked', 'suspended', 'expired')) as is_not_withdrawn
    from issues as i
    left join checks as c
        on i.candidate_ref = c.candidate_ref
       and i.credential_id = c.credential_id

),

final as (

    select
        cast(candidate_ref as text) as candidate_ref,
        cast(credential_id as text) as credential_id,
        cast(as_of_date as date) as as_of_date,
        cast(source as text) as source,
        cast(issuer as text) as issuer,
        cast(achievement as text) as achievement,
        cast(issued_at as timestamp with time zone) as issued_at,
        cast(issue_count as bigint) as issue_count,
        cast(valid_from as timestamp with time zone) as valid_from,
        cast(valid_until as timestamp with time zone) as valid_until,
        cast(verification_result as text) as verification_result,
        cast(coalesce(latest_status, 'issued') as text) as latest_status,
        cast(status_changed_at as timestamp with time zone) as status_changed_at,
        cast(latest_check_verification_result as text) as latest_check_verification_result,
        cast(coalesce(is_within_validity, false) as boolean) as is_within_validity,
        cast(coalesce(is_verified and is_within_validity and is_not_withdrawn, false) as boolean) as is_active

    from judged

)

select * from final
