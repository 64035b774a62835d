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

Every call is bounded in time, so an S3 endpoint that hangs is a failure
(``RegistryUnavailable``, a 503) rather than a request that waits forever:
:data:`CONNECT_TIMEOUT` to connect and :data:`READ_TIMEOUT` for each answer,
:data:`ATTEMPTS` attempts in all (botocore's standard retries, with backoff).
:meth:`S3Storage.check`, the health check, makes one attempt with shorter
limits (:data:`PROBE_TIMEOUT`), so a load balancer hears a 503 within
seconds. Failures name the bucket and say what to check (credentials refused,
no such bucket); they are for the operator, and a client of the server only
ever reads ``storage unavailable`` (:mod:`phony_server.errors`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

from phony_registry.errors import NotFound, RegistryUnavailable, UsageError
from phony_registry.storage import CHUNK_SIZE, ObjectInfo, Storage, WriteConflict, check_key

__all__ = [
    "ATTEMPTS",
    "CONNECT_TIMEOUT",
    "PROBE_TIMEOUT",
    "READ_TIMEOUT",
    "S3Storage",
    "check_bucket_name",
]

#: Seconds to open a connection to the S3 endpoint, per attempt.
CONNECT_TIMEOUT = 3.0
#: Seconds to wait for an answer (or the next piece of a download), per attempt.
READ_TIMEOUT = 5.0
#: Attempts of one call in all, the first included (botocore's standard retry mode).
ATTEMPTS = 2
#: Seconds to connect and to answer, one attempt: the health check's probe of the bucket.
PROBE_TIMEOUT = 2.0

_MISSING = {"404", "NoSuchKey", "NotFound"}
_NO_BUCKET = {"NoSuchBucket"}
# The credentials are unknown, wrong or not allowed this bucket. A HEAD has no body,
# so its 403 carries no code but the status.
_DENIED = {
    "403",
    "AccessDenied",
    "AllAccessDisabled",
    "ExpiredToken",
    "InvalidAccessKeyId",
    "InvalidToken",
    "SignatureDoesNotMatch",
}
# What any S3 accepts: today's rule (3 to 63 lowercase letters, digits, '.' and '-') and
# the names of older buckets (capitals and '_', up to 255), which still exist.
_BUCKET = re.compile(r"[A-Za-z0-9._-]{3,255}")
_PRECONDITION = {"412", "PreconditionFailed"}
# A concurrent conditional write on the same key: AWS asks the loser to retry.
_CONFLICT = {"409", "ConditionalRequestConflict"}


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: ClientError) -> object:
    return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "?")


def check_bucket_name(bucket: str) -> str:
    """Return ``bucket`` if an S3 store can have a bucket of that name, else raise UsageError."""
    if not _BUCKET.fullmatch(bucket):
        raise UsageError(
            f"{bucket!r} is not an S3 bucket name: a bucket name is 3 to 63 lowercase "
            "letters, digits, '.' and '-', starting and ending with a letter or digit "
            "(buckets made before 2018 may also hold capitals and '_')"
        )
    return bucket


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
        self.bucket = check_bucket_name(bucket)
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.endpoint = endpoint_url or "AWS"
        where = f"{endpoint_url}/" if endpoint_url else "s3://"
        self.description = f"bucket {where}{bucket}/{self.prefix}"
        self._endpoint_url, self._region = endpoint_url, region
        #: The health check's client: a given client, else one made on the first check.
        self._probe: Any = client
        if client is None:
            client = self._client(CONNECT_TIMEOUT, READ_TIMEOUT, ATTEMPTS, pool=64)
        self.client = client

    def _client(self, connect: float, read: float, attempts: int, *, pool: int = 10) -> Any:
        config = Config(
            connect_timeout=connect,
            read_timeout=read,
            retries={"max_attempts": attempts, "mode": "standard"},
            max_pool_connections=pool,
        )
        return boto3.session.Session().client(
            "s3", endpoint_url=self._endpoint_url, region_name=self._region, config=config
        )

    def _unavailable(self, exc: Exception) -> RegistryUnavailable:
        """The error for a failed call, naming the bucket and what to check (for the operator)."""
        bucket = f"bucket {self.bucket!r} at {self.endpoint}"
        if isinstance(exc, ClientError):
            code, status = _code(exc), _status(exc)
            answer = f"{status} {code}" if code and code != str(status) else f"{status}"
            if code in _NO_BUCKET:
                return RegistryUnavailable(
                    f"storage: S3 has no {bucket} ({answer}): create it, or check "
                    "--s3-bucket and --s3-endpoint"
                )
            if code in _DENIED or status == 403:
                return RegistryUnavailable(
                    f"storage: S3 refused access to {bucket} ({answer}): the credentials "
                    "(AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE or the instance "
                    "role) are wrong or may not use this bucket"
                )
            return RegistryUnavailable(f"storage: S3 answered {answer} for {bucket}")
        # botocore's messages are written for people ("Unable to locate credentials"):
        # show them, not the exception's class name.
        reason = str(exc) or type(exc).__name__
        if type(exc).__name__ == "NoCredentialsError":
            reason += " (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)"
        return RegistryUnavailable(f"storage: S3 unreachable ({bucket}): {reason}")

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def stat(self, key: str) -> ObjectInfo | None:
        """See :meth:`Storage.stat`."""
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return None
            raise self._unavailable(exc) from exc
        except BotoCoreError as exc:
            raise self._unavailable(exc) from exc
        return ObjectInfo(key, int(head["ContentLength"]), str(head["ETag"]))

    def _get(self, key: str, **extra: Any) -> dict[str, Any]:
        try:
            result: dict[str, Any] = self.client.get_object(
                Bucket=self.bucket, Key=self._key(key), **extra
            )
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise NotFound(f"no such object: {key}") from None
            raise self._unavailable(exc) from exc
        except BotoCoreError as exc:
            raise self._unavailable(exc) from exc
        return result

    def read(self, key: str) -> tuple[bytes, str]:
        """See :meth:`Storage.read`."""
        result = self._get(key)
        try:
            return result["Body"].read(), str(result["ETag"])
        except BotoCoreError as exc:
            raise self._unavailable(exc) from exc

    def iter_range(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """See :meth:`Storage.iter_range`."""
        extra: dict[str, Any] = {}
        if start or end is not None:
            extra["Range"] = f"bytes={start}-{'' if end is None else end}"
        body = self._get(key, **extra)["Body"]
        return self._chunks(body)

    def _chunks(self, body: Any) -> Iterator[bytes]:
        try:
            yield from body.iter_chunks(CHUNK_SIZE)
        except BotoCoreError as exc:
            raise self._unavailable(exc) from exc
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
                raise self._unavailable(exc) from exc
            except BotoCoreError as exc:
                raise self._unavailable(exc) from exc
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
            raise self._unavailable(exc) from exc

    def list(self, prefix: str) -> Iterator[str]:
        """See :meth:`Storage.list`."""
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
                for item in page.get("Contents", []):
                    yield str(item["Key"])[len(self.prefix) :]
        except (ClientError, BotoCoreError) as exc:
            raise self._unavailable(exc) from exc

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
            raise self._unavailable(exc) from exc
        return found

    def check(self) -> None:
        """See :meth:`Storage.check`: the bucket answers, within :data:`PROBE_TIMEOUT` seconds.

        One attempt with short limits, so that the health check of a server
        whose S3 endpoint hangs answers 503 within seconds.
        """
        if self._probe is None:
            self._probe = self._client(PROBE_TIMEOUT, PROBE_TIMEOUT, 1, pool=2)
        try:
            self._probe.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if _code(exc) in _MISSING or _status(exc) == 404:
                # A HEAD has no body: its 404 is the bucket's, there is no key.
                missing = {**exc.response, "Error": {"Code": "NoSuchBucket"}}
                raise self._unavailable(ClientError(missing, "HeadBucket")) from exc
            raise self._unavailable(exc) from exc
        except BotoCoreError as exc:
            raise self._unavailable(exc) from exc
