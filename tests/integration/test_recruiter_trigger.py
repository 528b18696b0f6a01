"""The AssetWatcher trigger against moto_server's SQS, fed by real S3 object-created notifications.

Both delivery modes are exercised with Airflow's own machinery: the standalone `run()` loop, and the
triggerer's shared-stream ack mode (airflow.triggers.shared_stream.SharedStreamManager, which the triggerer
drives), where a message may leave the queue only after Airflow confirmed the event persisted.
"""

import asyncio
import uuid

import pytest

from hiring_signals.airflow_triggers import SqsDropNotificationTrigger
from hiring_signals.config import load_settings
from hiring_signals.storage import Lake
from hiring_signals.storage.notifications import ensure_drop_notifications, queue_url, sqs_client

pytest.importorskip("airflow.triggers.shared_stream")


@pytest.fixture
def wired(hs_env):
    settings = load_settings({**hs_env, "HS_RECRUITER_QUEUE": f"drops-{uuid.uuid4().hex[:10]}"})
    lake = Lake(settings.s3)
    lake.ensure_buckets()
    ensure_drop_notifications(settings)  # S3 sends an s3:TestEvent to the queue right away
    sqs = sqs_client(settings.s3)
    return settings, lake, sqs, queue_url(sqs, settings.recruiter_queue)


def trigger_for(settings, **overrides) -> SqsDropNotificationTrigger:
    kwargs = dict(queue=settings.recruiter_queue, region=settings.s3.region, endpoint_url=settings.s3.endpoint_url,
                  embedded=settings.s3.embedded, bucket=settings.s3.lake_bucket, wait_time_seconds=1,
                  visibility_timeout=60, error_backoff_s=0.2)
    return SqsDropNotificationTrigger(**{**kwargs, **overrides})


def on_queue(sqs, url) -> tuple[int, int]:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                                                   "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"])


def drop(lake, name: str, agency: str = "northstar-talent") -> str:
    key = f"landing/drops/agency={agency}/{name}"
    lake.client.put_object(Bucket=lake.settings.lake_bucket, Key=key, Body=b"x\r\n",
                           Metadata={"received-at": "2026-05-04T10:00:00Z"})
    return key


def test_trigger_serialises_to_a_stable_class_path_without_secrets(wired):
    settings, *_ = wired
    trigger = trigger_for(settings)
    classpath, kwargs = trigger.serialize()
    assert classpath == "hiring_signals.airflow_triggers.SqsDropNotificationTrigger"
    assert SqsDropNotificationTrigger(**kwargs).serialize() == (classpath, kwargs)
    assert not any("secret" in k or "key_id" in k for k in kwargs)
    assert trigger.shared_stream_key() is not None
    assert trigger_for(settings, ack_after_persist=False).shared_stream_key() is None


def test_standalone_run_yields_the_landed_keys_then_deletes_the_messages(wired):
    settings, lake, sqs, url = wired
    keys = {drop(lake, "northstar-talent_20260504.csv"), drop(lake, "northstar-talent_20260505 (1).csv")}
    lake.client.put_object(Bucket=settings.s3.lake_bucket, Key="landing/api/other.json", Body=b"{}")  # not watched

    async def scenario():
        run = trigger_for(settings, ack_after_persist=False).run()
        seen: set[str] = set()
        while seen != keys:
            event = await asyncio.wait_for(run.__anext__(), timeout=20)
            assert set(event.payload) == {"queue", "message_ids", "objects"}
            seen |= {o["key"] for o in event.payload["objects"]}
            assert all(o["bucket"] == settings.s3.lake_bucket for o in event.payload["objects"])
            # yielded, not yet resumed: the messages behind the event are still on the queue (in flight)
            assert sum(on_queue(sqs, url)) >= 1
        with pytest.raises(asyncio.TimeoutError):  # resuming deletes, then long-polls an empty queue
            await asyncio.wait_for(run.__anext__(), timeout=3)
        await run.aclose()
        return seen

    assert asyncio.run(scenario()) == keys
    assert on_queue(sqs, url) == (0, 0)  # the test event and both notifications are gone


def test_ack_mode_deletes_a_message_only_after_the_event_is_persisted(wired):
    from airflow.triggers.shared_stream import SharedStreamManager

    settings, lake, sqs, url = wired
    key = drop(lake, "northstar-talent_20260506.csv")

    async def scenario():
        manager = SharedStreamManager(ack_timeout=60)
        trigger = trigger_for(settings)
        stream_key = trigger.shared_stream_key()
        events: asyncio.Queue = asyncio.Queue()

        async def triggerer():  # what TriggerRunner.run_trigger does with a shared-stream trigger
            async for event in trigger.filter_shared_stream(manager.subscribe(trigger_id=1, trigger=trigger,
                                                                              key=stream_key)):
                seq = manager.bind_pending_event(trigger_id=1, key=stream_key)
                events.put_nowait((event, seq))

        task = asyncio.create_task(triggerer())
        try:
            event, seq = await asyncio.wait_for(events.get(), timeout=20)
            assert [o["key"] for o in event.payload["objects"]] == [key]
            assert seq is not None  # bound to the message: its ack waits for the persist confirmation
            await asyncio.sleep(2.5)  # several polls later, still unconfirmed: the message stays in flight
            assert on_queue(sqs, url) == (0, 1)
            manager.confirm_persisted([seq])
            for _ in range(40):
                if on_queue(sqs, url) == (0, 0):
                    break
                await asyncio.sleep(0.25)
            assert on_queue(sqs, url) == (0, 0)  # deleted, and so was the s3:TestEvent (no event for it)
            assert events.empty()
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await manager.stop_all()

    asyncio.run(scenario())


def test_a_missing_queue_is_waited_for_not_fatal(wired):
    settings, *_ = wired
    trigger = trigger_for(settings, queue=f"missing-{uuid.uuid4().hex[:8]}", ack_after_persist=False)

    async def scenario():
        run = trigger.run()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(run.__anext__(), timeout=2)

    asyncio.run(scenario())
