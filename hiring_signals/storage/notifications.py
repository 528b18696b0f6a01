"""S3 object-created notifications for recruiter drops, delivered to an SQS queue.

    lake bucket --(s3:ObjectCreated:*, prefix landing/drops/)--> SQS queue HS_RECRUITER_QUEUE --> watcher

`ensure_drop_notifications()` sets this up idempotently: it creates the queue (when HS_RECRUITER_QUEUE is a
name; a URL names an existing queue), gives it a policy that lets S3 - and only for the lake bucket - send
to it, and adds/replaces one queue configuration on the bucket's notification configuration (Id
`hs-recruiter-drops`), leaving any other configurations on the bucket untouched. moto_server implements
the same APIs and delivers real messages, so the embedded set-up exercises exactly this path.

`parse_notification()` reads one SQS message body: S3 event notifications (event version 2.x, keys
URL-encoded as S3 sends them), the same wrapped in an SNS envelope (S3 -> SNS -> SQS fan-out), and
`s3:TestEvent` messages S3 sends when the configuration is written (no objects).

Delivery is at least once: a message can arrive twice, and a notification can be lost (a misconfigured
queue policy, a deleted queue, messages past the retention period). Ingestion is idempotent per landed
file, and `hiring_signals.drops.pending_keys()` finds landed files no message ever named.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from urllib.parse import unquote_plus

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from hiring_signals.config import S3Settings, Settings

log = logging.getLogger(__name__)

NOTIFICATION_ID = "hs-recruiter-drops"
DROPS_PREFIX = "landing/drops/"
# Long enough for the watcher to hand the event to Airflow and have it persisted before the message
# would become visible again; a message that does reappear is only a duplicate (ingestion dedups).
DEFAULT_VISIBILITY_TIMEOUT_S = 600


@dataclass(frozen=True)
class ObjectCreated:
    bucket: str
    key: str
    size: int | None
    etag: str | None
    event_time: str | None
    sequencer: str | None
    event_name: str

    def as_dict(self) -> dict:
        return {"bucket": self.bucket, "key": self.key, "size": self.size, "etag": self.etag,
                "event_time": self.event_time, "sequencer": self.sequencer, "event_name": self.event_name}


@dataclass(frozen=True)
class Notification:
    """What one SQS message says: the objects created (empty for test events and other event kinds)."""

    objects: tuple[ObjectCreated, ...]
    test_event: bool = False
    unrecognised: str | None = None  # why a message could not be read as an S3 notification


@dataclass(frozen=True)
class ReceivedMessage:
    message_id: str
    receipt_handle: str
    notification: Notification


def sqs_client(s3: S3Settings):
    """An SQS client on the same endpoint, region and credentials as the lake's S3 client."""
    return boto3.client("sqs", config=Config(retries={"max_attempts": 8, "mode": "adaptive"}), **s3.client_kwargs())


def queue_url(sqs, queue: str) -> str:
    """The URL of `queue` (a name, or already a URL)."""
    if queue.startswith(("http://", "https://")):
        return queue
    return sqs.get_queue_url(QueueName=queue)["QueueUrl"]


def _queue_policy(queue_arn: str, bucket: str) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AllowLakeBucketObjectCreated",
            "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{bucket}"}},
        }],
    }, sort_keys=True)


def ensure_drop_notifications(settings: Settings, *, s3_client=None, sqs=None) -> dict:
    """Create the queue (if named) and route the lake bucket's landing/drops/ object-created events to it.

    Idempotent: running it again changes nothing; other notification configurations on the bucket stay.
    """
    s3_client = s3_client or boto3.client("s3", config=Config(s3={"addressing_style": "path"}),
                                          **settings.s3.client_kwargs())
    sqs = sqs or sqs_client(settings.s3)
    bucket = settings.s3.lake_bucket
    queue = settings.recruiter_queue
    if queue.startswith(("http://", "https://")):
        url = queue
    else:
        try:
            url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}:
                raise
            url = sqs.create_queue(QueueName=queue, Attributes={
                "VisibilityTimeout": str(DEFAULT_VISIBILITY_TIMEOUT_S),
                "MessageRetentionPeriod": str(14 * 24 * 3600),
            })["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": _queue_policy(arn, bucket)})

    current = s3_client.get_bucket_notification_configuration(Bucket=bucket)
    current.pop("ResponseMetadata", None)
    ours = {
        "Id": NOTIFICATION_ID,
        "QueueArn": arn,
        "Events": ["s3:ObjectCreated:*"],
        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": DROPS_PREFIX}]}},
    }
    others = [c for c in current.get("QueueConfigurations", []) if c.get("Id") != NOTIFICATION_ID]
    existing = [c for c in current.get("QueueConfigurations", []) if c.get("Id") == NOTIFICATION_ID]
    changed = existing != [ours]
    if changed:
        config = {k: v for k, v in current.items() if k in {"TopicConfigurations", "LambdaFunctionConfigurations",
                                                            "EventBridgeConfiguration"}}
        config["QueueConfigurations"] = others + [ours]
        s3_client.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=config)
        log.info("s3://%s/%s object-created notifications -> %s", bucket, DROPS_PREFIX, arn)
    return {"bucket": bucket, "prefix": DROPS_PREFIX, "queue_url": url, "queue_arn": arn, "changed": changed}


def parse_notification(body: str | bytes) -> Notification:
    """The objects an SQS message body announces (S3 event notification, possibly inside an SNS envelope)."""
    try:
        message = json.loads(body)
    except (TypeError, ValueError) as exc:
        return Notification((), unrecognised=f"not JSON: {exc}")
    if isinstance(message, dict) and message.get("Type") == "Notification" and isinstance(message.get("Message"), str):
        return parse_notification(message["Message"])  # S3 -> SNS -> SQS
    if not isinstance(message, dict):
        return Notification((), unrecognised="not a JSON object")
    if message.get("Event") == "s3:TestEvent":
        return Notification((), test_event=True)
    records = message.get("Records")
    if not isinstance(records, list):
        return Notification((), unrecognised="no Records")
    objects = []
    for record in records:
        if not isinstance(record, dict) or record.get("eventSource") != "aws:s3":
            continue
        name = str(record.get("eventName", ""))
        if not name.startswith("ObjectCreated:"):
            continue
        s3 = record.get("s3") or {}
        obj = s3.get("object") or {}
        bucket = (s3.get("bucket") or {}).get("name")
        key = obj.get("key")
        if not bucket or not isinstance(key, str):
            continue
        objects.append(ObjectCreated(bucket=bucket, key=unquote_plus(key), size=obj.get("size"), etag=obj.get("eTag"),
                                     event_time=record.get("eventTime"), sequencer=obj.get("sequencer"),
                                     event_name=name))
    return Notification(tuple(objects))


def receive(sqs, url: str, *, wait_time_seconds: int = 20, max_messages: int = 10,
            visibility_timeout: int = DEFAULT_VISIBILITY_TIMEOUT_S) -> list[ReceivedMessage]:
    """One long poll. Messages stay on the queue (invisible for `visibility_timeout`) until deleted."""
    response = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=max(1, min(10, max_messages)),
                                   WaitTimeSeconds=max(0, min(20, wait_time_seconds)),
                                   VisibilityTimeout=visibility_timeout)
    return [ReceivedMessage(m["MessageId"], m["ReceiptHandle"], parse_notification(m.get("Body", "")))
            for m in response.get("Messages", [])]


def delete(sqs, url: str, receipt_handles: list[str]) -> list[dict]:
    """Delete messages (in batches of ten); returns the entries SQS refused (e.g. an expired receipt handle:
    the message became visible again and will be delivered once more, which ingestion tolerates)."""
    refused: list[dict] = []
    for start in range(0, len(receipt_handles), 10):
        chunk = receipt_handles[start : start + 10]
        response = sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(chunk)])
        refused.extend(response.get("Failed") or [])
    if refused:
        log.warning("SQS refused to delete %d message(s) from %s: %s", len(refused), url, refused[:3])
    return refused
