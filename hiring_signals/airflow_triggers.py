"""Airflow event triggers of the project. Imported only by Airflow (DAG files and the triggerer, which loads
a trigger by its class path); nothing else in the package imports this module, so the package still runs and
tests without Airflow. Heavy imports (boto3) happen inside the running trigger, never at DAG parse time.

`SqsDropNotificationTrigger` watches the SQS queue that receives the lake bucket's object-created
notifications for landing/drops/ (see hiring_signals.storage.notifications) and fires one event per
notification naming the landed objects. Used as an AssetWatcher trigger it turns each landed drop file into
an Asset event whose extra carries `{"payload": {"objects": [{"bucket", "key", ...}], ...}}`.

Why not the provider's trigger: apache-airflow-providers-amazon's SqsSensorTrigger (which
common-messaging's MessageQueueTrigger wraps for scheme "sqs") polls through aiobotocore, and every
aiobotocore release pins botocore to a narrow window that excludes the botocore this project is locked to
(constraints.txt), so pip can only satisfy it by backtracking to a years-old provider. It also deletes the
messages it received *before* it yields the event. This trigger uses the project's boto3 in a worker
thread instead, and deletes a message only after Airflow has the event.

Delivery semantics (at least once; ingestion is idempotent per landed file):
  * ack_after_persist=True (default): the trigger runs on the triggerer's shared-stream *ack mode*
    (Airflow 3.3): a producer long-polls SQS and hands each message to the trigger; the message is deleted
    only after the Asset event derived from it has been persisted in the metadata DB. A triggerer crash
    before that leaves the message on the queue, and it is delivered again after its visibility timeout.
  * ack_after_persist=False: a standalone `run()` loop that deletes a batch of messages right after the
    event for them was yielded (handed to the triggerer), the classic pattern.
Messages that announce nothing to ingest (s3:TestEvent, other prefixes, unreadable bodies) are deleted
without an event. Notifications can still be lost upstream; the DAG's daily sweep ingests whatever
landed without one.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, AsyncIterator, Sequence

from airflow.triggers.base import BaseEventTrigger, TriggerEvent
from airflow.triggers.shared_stream import AdvanceItem, SharedStreamProducer

log = logging.getLogger(__name__)

_MAX_BACKOFF_S = 300.0


def _connect(kwargs: dict) -> tuple[Any, str]:
    from hiring_signals.config import S3Settings
    from hiring_signals.storage.notifications import queue_url, sqs_client

    settings = S3Settings(endpoint_url=kwargs.get("endpoint_url"), region=kwargs["region"],
                          embedded=bool(kwargs.get("embedded")), lake_bucket=kwargs.get("bucket") or "",
                          feeds_bucket="")
    sqs = sqs_client(settings)
    return sqs, queue_url(sqs, kwargs["queue"])


def _receive(sqs, url: str, kwargs: dict):
    from hiring_signals.storage.notifications import receive

    return receive(sqs, url, wait_time_seconds=kwargs["wait_time_seconds"], max_messages=kwargs["max_messages"],
                   visibility_timeout=kwargs["visibility_timeout"])


def _delete(sqs, url: str, handles: list[str]) -> list[dict]:
    from hiring_signals.storage.notifications import delete

    return delete(sqs, url, handles)


def _objects(notification, kwargs: dict) -> list[dict]:
    prefix, bucket = kwargs.get("key_prefix") or "", kwargs.get("bucket")
    return [o.as_dict() for o in notification.objects
            if o.key.startswith(prefix) and not o.key.endswith("/") and (not bucket or o.bucket == bucket)]


def _note_skipped(message_id: str, notification) -> None:
    if notification.unrecognised:
        log.warning("SQS message %s is not an S3 notification (%s); deleted without an event",
                    message_id, notification.unrecognised)
    elif not notification.test_event:
        log.info("SQS message %s names no object under the watched prefix; deleted without an event", message_id)


class _SqsAckProducer(SharedStreamProducer):
    """Long-polls SQS for the shared stream; deletes a message once Airflow has persisted its event."""

    def __init__(self, kwargs: dict):
        self.kwargs = kwargs
        self._sqs = None
        self._url: str | None = None

    async def open_stream(self) -> AsyncIterator[tuple[Any, Any]]:
        failures = 0
        while True:
            try:
                if self._url is None:
                    self._sqs, self._url = await asyncio.to_thread(_connect, self.kwargs)
                messages = await asyncio.to_thread(_receive, self._sqs, self._url, self.kwargs)
                failures = 0
            except Exception as exc:  # the queue may not exist yet, the endpoint may be down: keep watching
                failures += 1
                self._url = None
                delay = min(self.kwargs["error_backoff_s"] * 2 ** (failures - 1), _MAX_BACKOFF_S)
                log.warning("receiving from SQS queue %s failed (%s); retrying in %.0fs", self.kwargs["queue"], exc, delay)
                await asyncio.sleep(delay)
                continue
            for m in messages:
                yield (m, m.receipt_handle)
            # A tick after every poll lets subscribers move past the last message of the batch, which is
            # what resolves (and so acknowledges) it; ticks carry no receipt and are never deleted.
            yield (None, None)

    async def advance(self, batch: Sequence[AdvanceItem]) -> None:
        handles = [item.broker_payload for item in batch
                   if item.broker_payload is not None and item.outcome.is_clean]
        redeliver = sum(1 for item in batch if item.broker_payload is not None and not item.outcome.is_clean)
        if redeliver:
            log.warning("%d SQS message(s) not acknowledged by every watcher; left for redelivery", redeliver)
        if handles and self._sqs is not None:
            await asyncio.to_thread(_delete, self._sqs, self._url, handles)


class SqsDropNotificationTrigger(BaseEventTrigger):
    """Fires when the SQS queue delivers S3 object-created notifications for keys under `key_prefix`.

    Event payload: {"queue": <name or URL>, "message_ids": [...], "objects": [{"bucket", "key", "size",
    "etag", "event_time", "sequencer", "event_name"}, ...]}. Credentials come from the triggerer's
    environment (boto3's chain; placeholders against the embedded moto_server), never from the kwargs,
    which Airflow stores in its metadata DB.
    """

    def __init__(self, *, queue: str, region: str, endpoint_url: str | None = None, embedded: bool = False,
                 bucket: str | None = None, key_prefix: str = "landing/drops/", wait_time_seconds: int = 20,
                 max_messages: int = 10, visibility_timeout: int = 600, ack_after_persist: bool = True,
                 error_backoff_s: float = 15.0):
        super().__init__()
        self.queue = queue
        self.region = region
        self.endpoint_url = endpoint_url
        self.embedded = embedded
        self.bucket = bucket
        self.key_prefix = key_prefix
        self.wait_time_seconds = wait_time_seconds
        self.max_messages = max_messages
        self.visibility_timeout = visibility_timeout
        self.ack_after_persist = ack_after_persist
        self.error_backoff_s = error_backoff_s

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{type(self).__module__}.{type(self).__qualname__}", {
            "queue": self.queue, "region": self.region, "endpoint_url": self.endpoint_url, "embedded": self.embedded,
            "bucket": self.bucket, "key_prefix": self.key_prefix, "wait_time_seconds": self.wait_time_seconds,
            "max_messages": self.max_messages, "visibility_timeout": self.visibility_timeout,
            "ack_after_persist": self.ack_after_persist, "error_backoff_s": self.error_backoff_s,
        })

    @property
    def _kwargs(self) -> dict:
        return self.serialize()[1]

    # --- ack mode (shared stream) ------------------------------------------------------------------------

    def shared_stream_key(self):
        if not self.ack_after_persist:
            return None
        return ("hs-sqs-drop-notifications", self.endpoint_url or "", self.region, self.queue)

    @classmethod
    def create_shared_stream_producer(cls, kwargs: dict[str, Any]) -> SharedStreamProducer:
        return _SqsAckProducer(kwargs)

    async def filter_shared_stream(self, shared_stream: AsyncIterator[Any]) -> AsyncIterator[TriggerEvent]:
        kwargs = self._kwargs
        async for message in shared_stream:
            if message is None:
                continue  # tick
            objects = _objects(message.notification, kwargs)
            if not objects:
                _note_skipped(message.message_id, message.notification)
                continue  # resolves cleanly: deleted without an event
            yield TriggerEvent({"queue": self.queue, "message_ids": [message.message_id], "objects": objects})

    # --- standalone --------------------------------------------------------------------------------------

    async def run(self) -> AsyncIterator[TriggerEvent]:
        kwargs = self._kwargs
        sqs, url, failures = None, None, 0
        while True:
            try:
                if url is None:
                    sqs, url = await asyncio.to_thread(_connect, kwargs)
                messages = await asyncio.to_thread(_receive, sqs, url, kwargs)
                failures = 0
            except Exception as exc:
                failures += 1
                url = None
                delay = min(self.error_backoff_s * 2 ** (failures - 1), _MAX_BACKOFF_S)
                self.log.warning("receiving from SQS queue %s failed (%s); retrying in %.0fs", self.queue, exc, delay)
                await asyncio.sleep(delay)
                continue
            if not messages:
                continue
            objects, ids = [], []
            for m in messages:
                mine = _objects(m.notification, kwargs)
                if mine:
                    objects.extend(mine)
                    ids.append(m.message_id)
                else:
                    _note_skipped(m.message_id, m.notification)
            if objects:
                yield TriggerEvent({"queue": self.queue, "message_ids": ids, "objects": objects})
            # Only now, after the event was handed over, do the messages leave the queue.
            await asyncio.to_thread(_delete, sqs, url, [m.receipt_handle for m in messages])
