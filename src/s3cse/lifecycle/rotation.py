"""Rotation: re-wrap an object's data key under a new master key, content untouched."""

from __future__ import annotations

from dataclasses import replace

from ..client import (
    EncryptionClient,
    fetch_content_metadata,
)
from ..core import metadata, sidecars
from ..core.materials import (
    LEGACY_WRAP_ALGS,
    DecryptionRequest,
    DefaultMaterialsManager,
    EncryptionRequest,
)
from ..core.requests import split_metadata
from ..core.suites import FormatVersion
from ..io.s3api import S3Client
from .jobs import Job, ObjectResult
from .objects import head_object, kept_headers, opens_with, sse_args


def _authenticate_content(job: Job, s3: S3Client, key: str, etag: str) -> None:
    """Read the whole object through the tag check before a legacy wrap is re-wrapped.

    A legacy wrap (``kms``, ``AESWrap``, ...) binds the data key to nothing, so the
    content algorithm the metadata claims may be an attacker's. The new wrap binds the key
    to that claim: it must first be shown true, or rotation would vouch for a forgery.
    """
    reader = EncryptionClient(job.keys.keyring(), s3_client=s3, config=job.reader_config())
    response = reader.get_object(
        Bucket=job.bucket, Key=key, EncryptionContext=job.context, IfMatch=etag
    )
    with response["Body"] as body:
        while body.read(1 << 20):
            pass


def rotate(job: Job, s3: S3Client, key: str) -> ObjectResult:
    assert job.target is not None
    head = head_object(s3, job.bucket, key)
    md = fetch_content_metadata(s3, job.bucket, key, head.get("Metadata", {}))
    target = job.target.keyring()
    if opens_with(target, md, job.new_context, job.legacy):
        return ObjectResult(key, "skipped", f"already under {job.target}")
    if md.version is FormatVersion.V1 or md.suite.legacy:
        return ObjectResult(key, "skipped", "legacy object: run migrate to re-encrypt it")
    data_key = DefaultMaterialsManager(job.keys.keyring()).decrypt_data_key(
        DecryptionRequest(md, job.context, job.legacy)
    )
    from ..core.envelope import unseal

    unseal(md, data_key)  # a V3 data key must match its commitment before it is re-wrapped
    if md.wrap_alg in LEGACY_WRAP_ALGS:
        _authenticate_content(job, s3, key, head["ETag"])
    if job.dry_run:
        return ObjectResult(key, "would-rotate", f"{md.wrap_alg} -> {job.target}")
    wrapped = target.wrap(EncryptionRequest(md.suite, job.new_context), data_key)
    rotated = replace(
        md,
        wrap_alg=wrapped.wrap_alg,
        encrypted_data_key=wrapped.encrypted_data_key,
        context=dict(wrapped.context),
    )
    object_md, instruction = metadata.serialize(rotated)
    client = EncryptionClient(target, s3_client=s3)
    if instruction is not None:
        s3.put_object(
            Bucket=job.bucket,
            Key=key + sidecars.INSTRUCTION_SUFFIX,
            Body=metadata.instruction_file_body(instruction),
            **sse_args(head),
        )
    else:
        user = split_metadata(head.get("Metadata", {}))[0]
        client.session.call(
            "copy_object",
            job.bucket,
            key,
            "rotation copy",
            CopySource={"Bucket": job.bucket, "Key": key},
            CopySourceIfMatch=head["ETag"],
            MetadataDirective="REPLACE",
            Metadata={**user, **object_md},
            **kept_headers(head),
            **sse_args(head),
        )
    return ObjectResult(key, "rotated", f"{md.wrap_alg} -> {wrapped.wrap_alg} ({job.target})")
