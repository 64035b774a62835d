"""S3 storage through boto3: AWS S3, MinIO, R2, Ceph or any S3-compatible store.

Credentials come the standard AWS way (environment, shared config files,
instance or container roles); none is ever passed on a command line. Immutable
creates are ``PutObject`` with ``If-None-Match: *`` and the compare-and-swap is
``PutObject`` with ``If-Match: <etag>``, so any number of server replicas can
share one bucket without a lock service. Objects go up in one ``PutObject``
each (uploads are capped well below its 5 GB limit), so a failed publish never
leaves a multipart upload open.

A registry server uses two of these (see :mod:`phony_server.storage`): the
public tree under ``<prefix>/public/`` and the private area under
``<prefix>/private/`` or in a bucket of its own, so a bucket policy can make
the public prefix readable by anyone without ever exposing the private one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

from phony_registry.errors import NotFound, RegistryUnavailable
from phony_registry.storage import CHUNK_SIZE, ObjectInfo, Storage, WriteConflict, check_key

__all__ = ["S3Storage"]

_MISSING = {"404", "NoSuchKey", "NotFound"}
_PRECONDITION = {"412", "PreconditionFailed"}
# A concurrent conditional write on the same key: AWS asks the loser to retry.
_CONFLICT = {"409", "ConditionalRequestConflict"}


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _unavailable(exc: Exception) -> RegistryUnavailable:
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "?")
        return RegistryUnavailable(f"storage: S3 answered {status} {_code(exc)}")
    # botocore's messages are written for people ("Unable to locate credentials"):
    # show them, not the exception's class name.
    reason = str(exc) or type(exc).__name__
    if type(exc).__name__ == "NoCredentialsError":
        reason += " (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)"
    return RegistryUnavailable(f"storage: S3 unreachable: {reason}")


class S3Storage(Storage):
    """A bucket (optionally under a key prefix) holding the static registry layout."""

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        client: Any = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        where = f"{endpoint_url}/" if endpoint_url else "s3://"
        self.description = f"bucket {where}{bucket}/{self.prefix}"
        if client is None:
            config = Config(
                connect_timeout=5,
                read_timeout=10,
                retries={"max_attempts": 3, "mode": "standard"},
                max_pool_connections=64,
            )
            client = boto3.session.Session().client(
                "s3", endpoint_url=endpoint_url, region_name=region, config=config
            )
        self.client = client

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def stat(self, key: str) -> ObjectInfo | None:
        """See :meth:`Storage.stat`."""
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return None
            raise _unavailable(exc) from exc
        except BotoCoreError as exc:
            raise _unavailable(exc) from exc
        return ObjectInfo(key, int(head["ContentLength"]), str(head["ETag"]))

    def _get(self, key: str, **extra: Any) -> dict[str, Any]:
        try:
            result: dict[str, Any] = self.client.get_object(
                Bucket=self.bucket, Key=self._key(key), **extra
            )
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise NotFound(f"no such object: {key}") from None
            raise _unavailable(exc) from exc
        except BotoCoreError as exc:
            raise _unavailable(exc) from exc
        return result

    def read(self, key: str) -> tuple[bytes, str]:
        """See :meth:`Storage.read`."""
        result = self._get(key)
        try:
            return result["Body"].read(), str(result["ETag"])
        except BotoCoreError as exc:
            raise _unavailable(exc) from exc

    def iter_range(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """See :meth:`Storage.iter_range`."""
        extra: dict[str, Any] = {}
        if start or end is not None:
            extra["Range"] = f"bytes={start}-{'' if end is None else end}"
        body = self._get(key, **extra)["Body"]
        return self._chunks(body)

    @staticmethod
    def _chunks(body: Any) -> Iterator[bytes]:
        try:
            yield from body.iter_chunks(CHUNK_SIZE)
        except BotoCoreError as exc:
            raise _unavailable(exc) from exc
        finally:
            body.close()

    def _put(self, key: str, body: Any, **condition: str) -> str:
        for _ in range(5):
            try:
                result = self.client.put_object(
                    Bucket=self.bucket, Key=self._key(key), Body=body, **condition
                )
            except ClientError as exc:
                code = _code(exc)
                if code in _PRECONDITION or (code in _MISSING and "IfMatch" in condition):
                    raise WriteConflict(key) from None
                if code in _CONFLICT:
                    if hasattr(body, "seek"):
                        body.seek(0)
                    continue
                raise _unavailable(exc) from exc
            except BotoCoreError as exc:
                raise _unavailable(exc) from exc
            return str(result["ETag"])
        raise WriteConflict(key)

    def create(self, key: str, source: bytes | Path) -> bool:
        """See :meth:`Storage.create`: ``PutObject`` with ``If-None-Match: *``."""
        try:
            if isinstance(source, bytes):
                self._put(key, source, IfNoneMatch="*")
            else:
                with open(source, "rb") as body:
                    self._put(key, body, IfNoneMatch="*")
        except WriteConflict:
            return False
        return True

    def write(self, key: str, data: bytes, if_match: str | None) -> str:
        """See :meth:`Storage.write`: ``PutObject`` with ``If-Match`` or ``If-None-Match``."""
        if if_match is None:
            return self._put(key, data, IfNoneMatch="*")
        return self._put(key, data, IfMatch=if_match)

    def delete(self, key: str) -> None:
        """See :meth:`Storage.delete`."""
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc) from exc

    def list(self, prefix: str) -> Iterator[str]:
        """See :meth:`Storage.list`."""
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
                for item in page.get("Contents", []):
                    yield str(item["Key"])[len(self.prefix) :]
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc) from exc

    def scan(self, prefix: str) -> dict[str, ObjectInfo]:
        """See :meth:`Storage.scan`: one ``ListObjectsV2`` per thousand keys, with ETags."""
        paginator = self.client.get_paginator("list_objects_v2")
        found = {}
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
                for item in page.get("Contents", []):
                    key = str(item["Key"])[len(self.prefix) :]
                    found[key] = ObjectInfo(key, int(item["Size"]), str(item["ETag"]))
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc) from exc
        return found

    def check(self) -> None:
        """See :meth:`Storage.check`: the bucket answers."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc) from exc
