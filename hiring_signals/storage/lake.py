"""Object-store zones over the S3 API (boto3), the same code for moto_server, MinIO or AWS S3."""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterator

import boto3
import orjson
from botocore.config import Config
from botocore.exceptions import ClientError

from hiring_signals.config import S3Settings

ZONES = ("landing", "raw", "quarantine", "curated", "feeds", "ops")


def utc_key(ts: datetime) -> str:
    """A timestamp as it appears in object keys: 20260501T000000Z (sortable, no colons)."""
    return ts.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def canonical_json(obj) -> bytes:
    """Deterministic JSON (sorted keys, no whitespace variance) so reruns write identical bytes."""
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"


def gzip_deterministic(data: bytes) -> bytes:
    """gzip without the wall-clock mtime gzip normally stores, so identical input gives identical bytes."""
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=6) as gz:
        gz.write(data)
    return buf.getvalue()


@dataclass(frozen=True)
class ObjectRef:
    bucket: str
    key: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


class PreconditionFailed(RuntimeError):
    """A conditional write lost: the object changed (or appeared) since it was read."""


class Lake:
    """The lake's zones as key prefixes in the lake bucket; feeds live in their own bucket."""

    def __init__(self, s3: S3Settings, client=None):
        self.settings = s3
        self.client = client or boto3.client(
            "s3",
            config=Config(retries={"max_attempts": 8, "mode": "adaptive"}, s3={"addressing_style": "path"}),
            **s3.client_kwargs(),
        )

    def bucket_for(self, zone: str) -> str:
        if zone not in ZONES:
            raise ValueError(f"unknown zone {zone!r}; zones are {ZONES}")
        return self.settings.feeds_bucket if zone == "feeds" else self.settings.lake_bucket

    def ref(self, zone: str, key: str) -> ObjectRef:
        if not key.startswith(f"{zone}/"):
            key = f"{zone}/{key}"
        return ObjectRef(self.bucket_for(zone), key)

    def ensure_buckets(self) -> None:
        for bucket in {self.settings.lake_bucket, self.settings.feeds_bucket}:
            try:
                self.client.head_bucket(Bucket=bucket)
            except ClientError as exc:
                if exc.response["Error"]["Code"] not in {"404", "NoSuchBucket", "NotFound"}:
                    raise
                kwargs = {"Bucket": bucket}
                if self.settings.region != "us-east-1":
                    kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.settings.region}
                self.client.create_bucket(**kwargs)

    def put(self, ref: ObjectRef, body: bytes, content_type: str = "application/octet-stream") -> None:
        self.client.put_object(Bucket=ref.bucket, Key=ref.key, Body=body, ContentType=content_type)

    def put_if(self, ref: ObjectRef, body: bytes, *, etag: str | None,
               content_type: str = "application/octet-stream") -> str:
        """PUT only if the object is still as read: `etag` None means "must not exist yet" (If-None-Match: *),
        otherwise If-Match. Returns the new ETag; PreconditionFailed when another writer got there first."""
        kwargs = {"IfNoneMatch": "*"} if etag is None else {"IfMatch": etag}
        try:
            return self.client.put_object(Bucket=ref.bucket, Key=ref.key, Body=body, ContentType=content_type,
                                          **kwargs)["ETag"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] in {"PreconditionFailed", "412", "ConditionalRequestConflict"}:
                raise PreconditionFailed(f"{ref.uri} changed while this writer held it ({exc})") from exc
            raise

    def etag(self, ref: ObjectRef) -> str | None:
        """The object's ETag, or None when it does not exist."""
        try:
            return self.client.head_object(Bucket=ref.bucket, Key=ref.key)["ETag"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise

    def get(self, ref: ObjectRef) -> bytes:
        return self.client.get_object(Bucket=ref.bucket, Key=ref.key)["Body"].read()

    def get_json(self, ref: ObjectRef):
        return orjson.loads(self.get(ref))

    def exists(self, ref: ObjectRef) -> bool:
        try:
            self.client.head_object(Bucket=ref.bucket, Key=ref.key)
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise

    def list_keys(self, bucket: str, prefix: str) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                yield obj["Key"]

    def delete_keys(self, bucket: str, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):
            chunk = keys[start : start + 1000]
            if chunk:
                self.client.delete_objects(
                    Bucket=bucket, Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True}
                )
