"""Migration: re-encrypt a legacy object as V3 through a temporary key, read back and
compared before it is copied over the object."""

from __future__ import annotations

import contextlib
import hashlib
from typing import IO, cast

from ..client import (
    EncryptionClient,
    fetch_content_metadata,
    probe_sidecar,
    probe_sidecars,
)
from ..core import listing, sidecars
from ..core.requests import split_metadata
from ..core.suites import FormatVersion
from ..errors import S3CSEError
from ..io.s3api import S3Client
from .jobs import TEMP_SUFFIX, Job, ObjectResult, failed
from .objects import head_object, kept_headers, opens_with, sse_args


class _Hashing:
    """Reads through, hashing what passes."""

    def __init__(self, source: IO[bytes]) -> None:
        self._source = source
        self.sha256 = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self._source.read(size)
        self.sha256.update(data)
        return data


class _HashSink:
    def __init__(self) -> None:
        self.sha256 = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        return len(data)


def _exists(s3: S3Client, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except Exception:
        return False
    return True


def migrate(job: Job, s3: S3Client, key: str) -> ObjectResult:
    target_spec = job.target or job.keys
    target = target_spec.keyring()
    head = head_object(s3, job.bucket, key)
    md = fetch_content_metadata(s3, job.bucket, key, head.get("Metadata", {}))
    temp = key + TEMP_SUFFIX
    if md.version is FormatVersion.V3 and opens_with(target, md, job.new_context, job.legacy):
        if _exists(s3, job.bucket, temp):  # an earlier run stopped after the swap
            _finish_swap(s3, job.bucket, key, temp)
            return ObjectResult(key, "migrated", "finished an interrupted migration")
        return ObjectResult(key, "skipped", "already V3")
    if job.dry_run:
        return ObjectResult(
            key, "would-migrate", f"V{int(md.version)} {md.suite.name} {md.wrap_alg} -> V3"
        )
    _discard(s3, job.bucket, temp)  # a partial upload of an interrupted run
    reader = EncryptionClient(job.keys.keyring(), s3_client=s3, config=job.reader_config())
    writer = EncryptionClient(target, s3_client=s3)
    has_index = probe_sidecar(s3, job.bucket, key + sidecars.INDEX_SUFFIX) is sidecars.Kind.SIDECAR
    user = split_metadata(head.get("Metadata", {}))[0]
    response = reader.get_object(
        Bucket=job.bucket, Key=key, EncryptionContext=job.context, IfMatch=head["ETag"]
    )
    with response["Body"] as body:
        source = _Hashing(cast(IO[bytes], body))
        writer.upload_fileobj(
            cast(IO[bytes], source),
            job.bucket,
            temp,
            ExtraArgs={
                "EncryptionContext": job.new_context,
                "Metadata": user,
                "IntegrityIndex": has_index,
                **kept_headers(head),
                **sse_args(head),
            },
        )
    check = _HashSink()
    writer.download_fileobj(
        job.bucket, temp, cast(IO[bytes], check), EncryptionContext=job.new_context
    )
    if check.sha256.digest() != source.sha256.digest():
        _discard(s3, job.bucket, temp)
        return failed(
            job,
            key,
            S3CSEError("the re-encrypted copy did not read back the same; the object is unchanged"),
        )
    writer.session.call(
        "copy_object",
        job.bucket,
        key,
        "migration swap",
        CopySource={"Bucket": job.bucket, "Key": temp},
        MetadataDirective="COPY",
        **sse_args(head),
    )
    _finish_swap(s3, job.bucket, key, temp)
    return ObjectResult(
        key, "migrated", f"V{int(md.version)} {md.suite.name} {md.wrap_alg} -> V3 ({target_spec})"
    )


def _finish_swap(s3: S3Client, bucket: str, key: str, temp: str) -> None:
    """After the object holds the new ciphertext: its sidecars, then the temporary key.
    The new object carries its key in its metadata, so an instruction file no longer
    applies; a user's object named like a sidecar is left alone."""
    index = sidecars.INDEX_SUFFIX
    kinds = probe_sidecars(s3, bucket, listing.sidecar_names([key]))
    if _exists(s3, bucket, temp + index):
        if kinds[key + index] is not sidecars.Kind.USER_OBJECT:
            s3.copy_object(
                Bucket=bucket, Key=key + index, CopySource={"Bucket": bucket, "Key": temp + index}
            )
        kinds.pop(key + index)
    for name, kind in kinds.items():
        if sidecars.removable(kind):
            with contextlib.suppress(Exception):
                s3.delete_object(Bucket=bucket, Key=name)
    _discard(s3, bucket, temp)


def _discard(s3: S3Client, bucket: str, temp: str) -> None:
    for name in (temp, *listing.sidecar_names([temp])):
        with contextlib.suppress(Exception):
            s3.delete_object(Bucket=bucket, Key=name)
