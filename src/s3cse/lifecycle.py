"""Key lifecycle in bulk: rotate master keys, migrate legacy objects to V3.

Both jobs are plain, picklable data (``Job``) and a function per object, so the same
work runs on a thread pool or, when one machine is not enough, on a Dask cluster.

* **rotate** re-wraps each object's data key under a new master key without touching
  the content: the instruction file is rewritten, or the object is copied onto itself
  with its metadata replaced (user metadata, content type, SSE settings and storage class
  kept; tags are kept by S3). ``CopySourceIfMatch`` guards against a concurrent writer.
* **migrate** re-encrypts legacy objects (V1, V2, AES-CBC, legacy key wraps) as V3: the
  new ciphertext goes to a temporary key, is read back and compared by SHA-256 with the
  old plaintext, and only then copied over the object (a versioned bucket keeps the old
  version). Sidecars follow; the temporary key is removed.

Neither job launders: legacy unauthenticated modes are read only when the job says so
(``legacy=True``), a KMS object is read only under the context it stores, and the rewritten
object carries that context unless the job names another (``target_context``). A legacy
wrap binds the data key to nothing, so rotation reads such an object through its tag
check before binding the key to the content algorithm it claims.

Each object ends fully done or untouched, and a second run skips what the first one
finished: rotated objects already open with the target key; migrated ones are V3.
An interrupted migration leaves at most a temporary key, which the next run finishes
or discards.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from typing import IO, Any, cast

from .client import (
    EncryptionClient,
    fetch_content_metadata,
    listing_with_sidecars,
    probe_sidecar,
    probe_sidecars,
)
from .core import listing, metadata, sidecars
from .core.config import CryptoConfig
from .core.materials import (
    LEGACY_WRAP_ALGS,
    DecryptionRequest,
    DefaultMaterialsManager,
    EncryptionRequest,
    Keyring,
)
from .core.metadata import ContentMetadata
from .core.suites import CommitmentPolicy, FormatVersion
from .errors import ConfigurationError, S3CSEError
from .io import awsenv
from .keyrings.specs import KeySpec
from .protocol import split_metadata

TEMP_SUFFIX = ".s3cse-migrating"
_KEPT_HEADERS = {
    "ContentType": "ContentType",
    "ContentEncoding": "ContentEncoding",
    "ContentDisposition": "ContentDisposition",
    "ContentLanguage": "ContentLanguage",
    "CacheControl": "CacheControl",
    "Expires": "Expires",
    "WebsiteRedirectLocation": "WebsiteRedirectLocation",
}


@dataclass(frozen=True)
class Job:
    kind: str
    """``rotate`` or ``migrate``."""
    bucket: str
    prefix: str
    keys: KeySpec
    """The master keys the objects are under now."""
    target: KeySpec | None = None
    """Rotate: the new master key. Migrate: the key to write V3 with (default: ``keys``)."""
    encryption_context: tuple[tuple[str, str], ...] = ()
    """The KMS context the objects carry now: a KMS-wrapped object whose stored context
    differs is refused, never read under another one."""
    legacy: bool = False
    """Read legacy unauthenticated modes (CBC content, ``kms``, ``AESWrap``, V1 wraps):
    only when asked, since what such objects hold cannot be authenticated."""
    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    dry_run: bool = False
    target_context: tuple[tuple[str, str], ...] | None = None
    """The KMS context to write the objects with; None carries the current one over."""

    def __post_init__(self) -> None:
        if self.kind not in ("rotate", "migrate"):
            raise ConfigurationError(f"unknown job {self.kind!r}")
        if self.kind == "rotate" and self.target is None:
            raise ConfigurationError("rotate needs the new master key (--to-...)")

    @property
    def context(self) -> dict[str, str]:
        return dict(self.encryption_context)

    @property
    def new_context(self) -> dict[str, str]:
        """What the rewritten objects are bound to: the current context unless told."""
        if self.target_context is None:
            return self.context
        return dict(self.target_context)

    def s3(self) -> Any:
        return awsenv.client(
            "s3", endpoint_url=self.endpoint_url, profile=self.profile, region=self.region
        )

    def reader_config(self) -> CryptoConfig:
        return CryptoConfig(
            legacy=self.legacy, commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT
        )


@dataclass(frozen=True)
class ObjectResult:
    key: str
    action: str
    """rotated, migrated, skipped, would-rotate, would-migrate or failed."""
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.action == "failed"


@dataclass
class Summary:
    results: list[ObjectResult] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for result in self.results:
            out[result.action] = out.get(result.action, 0) + 1
        return out

    @property
    def failed(self) -> list[ObjectResult]:
        return [r for r in self.results if r.failed]


def list_keys(job: Job, s3: Any | None = None) -> Iterator[str]:
    """Object keys under the prefix, without sidecars, temporary keys and folder markers
    (empty objects whose key ends in ``/``: they hold nothing to encrypt). A user's object
    only named like a sidecar is listed (``sidecars``)."""
    s3 = s3 or job.s3()
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=job.bucket, Prefix=job.prefix)
    for item in listing.visible(listing_with_sidecars(s3, job.bucket, pages)):
        key = item["Key"]
        if TEMP_SUFFIX not in key and not listing.is_folder_marker(key, listing.stored_size(item)):
            yield key


def process(job: Job, key: str) -> ObjectResult:
    """One object; module-level and picklable so Dask workers can run it."""
    try:
        if job.kind == "rotate":
            return _rotate(job, job.s3(), key)
        return _migrate(job, job.s3(), key)
    except S3CSEError as exc:
        return _failed(job, key, exc)
    except Exception as exc:  # a worker must report, not die: the run goes on
        return _failed(job, key, S3CSEError(f"unexpected {type(exc).__name__}: {exc}"))


def _failed(job: Job, key: str, error: S3CSEError) -> ObjectResult:
    """A failure whose detail names the object, as every error line does."""
    return ObjectResult(key, "failed", str(error.locate(job.bucket, key)))


def run(
    job: Job,
    *,
    concurrency: int = 8,
    dask_address: str | None = None,
    on_result: Callable[[ObjectResult], None] | None = None,
) -> Summary:
    """Process every object under the prefix; results arrive through ``on_result``."""
    keys = list(list_keys(job))
    summary = Summary()

    def record(result: ObjectResult) -> None:
        summary.results.append(result)
        if on_result is not None:
            on_result(result)

    if dask_address:
        # imported by name: distributed is optional and carries no type information
        distributed: Any = importlib.import_module("distributed")
        with distributed.Client(dask_address) as client:
            futures = client.map(process, [job] * len(keys), keys, pure=False)
            for future in distributed.as_completed(futures):
                record(future.result())
        return summary
    pool = ThreadPoolExecutor(concurrency)
    try:
        for done in as_completed([pool.submit(process, job, key) for key in keys]):
            record(done.result())
    finally:
        # On an interrupt (Ctrl-C), drop the objects not started yet rather than work
        # through them all; those under way finish (each ends done or untouched).
        pool.shutdown(wait=True, cancel_futures=True)
    return summary


# ---------------------------------------------------------------- rotation


def _head(s3: Any, bucket: str, key: str) -> dict[str, Any]:
    from .protocol import s3_errors, translate_s3_error

    try:
        response: dict[str, Any] = s3.head_object(Bucket=bucket, Key=key)
    except s3_errors() as exc:
        raise translate_s3_error(exc, bucket, key, "head") from None
    return response


def _opens_with(
    keyring: Keyring, md: ContentMetadata, context: Mapping[str, str], legacy: bool
) -> bool:
    try:
        DefaultMaterialsManager(keyring).decrypt_data_key(DecryptionRequest(md, context, legacy))
    except S3CSEError:
        return False
    return True


def _authenticate_content(job: Job, s3: Any, key: str, etag: str) -> None:
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


def _rotate(job: Job, s3: Any, key: str) -> ObjectResult:
    assert job.target is not None
    head = _head(s3, job.bucket, key)
    md = fetch_content_metadata(s3, job.bucket, key, head.get("Metadata", {}))
    target = job.target.keyring()
    if _opens_with(target, md, job.new_context, job.legacy):
        return ObjectResult(key, "skipped", f"already under {job.target}")
    if md.version is FormatVersion.V1 or md.suite.legacy:
        return ObjectResult(key, "skipped", "legacy object: run migrate to re-encrypt it")
    data_key = DefaultMaterialsManager(job.keys.keyring()).decrypt_data_key(
        DecryptionRequest(md, job.context, job.legacy)
    )
    from .core.envelope import unseal

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
            **_sse_args(head),
        )
    else:
        user = split_metadata(head.get("Metadata", {}))[0]
        client._s3_call(
            "copy_object",
            job.bucket,
            key,
            "rotation copy",
            CopySource={"Bucket": job.bucket, "Key": key},
            CopySourceIfMatch=head["ETag"],
            MetadataDirective="REPLACE",
            Metadata={**user, **object_md},
            **_kept_headers(head),
            **_sse_args(head),
        )
    return ObjectResult(key, "rotated", f"{md.wrap_alg} -> {wrapped.wrap_alg} ({job.target})")


def _kept_headers(head: Mapping[str, Any]) -> dict[str, Any]:
    kept = {arg: head[name] for name, arg in _KEPT_HEADERS.items() if head.get(name)}
    if head.get("StorageClass"):
        kept["StorageClass"] = head["StorageClass"]
    return kept


def _sse_args(head: Mapping[str, Any]) -> dict[str, Any]:
    sse = head.get("ServerSideEncryption")
    if sse == "aws:kms":
        args = {"ServerSideEncryption": sse}
        if head.get("SSEKMSKeyId"):
            args["SSEKMSKeyId"] = head["SSEKMSKeyId"]
        if head.get("BucketKeyEnabled"):
            args["BucketKeyEnabled"] = True
        return args
    return {"ServerSideEncryption": sse} if sse == "AES256" else {}


# ---------------------------------------------------------------- migration


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


def _exists(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except Exception:
        return False
    return True


def _migrate(job: Job, s3: Any, key: str) -> ObjectResult:
    target_spec = job.target or job.keys
    target = target_spec.keyring()
    head = _head(s3, job.bucket, key)
    md = fetch_content_metadata(s3, job.bucket, key, head.get("Metadata", {}))
    temp = key + TEMP_SUFFIX
    if md.version is FormatVersion.V3 and _opens_with(target, md, job.new_context, job.legacy):
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
                **_kept_headers(head),
                **_sse_args(head),
            },
        )
    check = _HashSink()
    writer.download_fileobj(
        job.bucket, temp, cast(IO[bytes], check), EncryptionContext=job.new_context
    )
    if check.sha256.digest() != source.sha256.digest():
        _discard(s3, job.bucket, temp)
        return _failed(
            job,
            key,
            S3CSEError("the re-encrypted copy did not read back the same; the object is unchanged"),
        )
    writer._s3_call(
        "copy_object",
        job.bucket,
        key,
        "migration swap",
        CopySource={"Bucket": job.bucket, "Key": temp},
        MetadataDirective="COPY",
        **_sse_args(head),
    )
    _finish_swap(s3, job.bucket, key, temp)
    return ObjectResult(
        key, "migrated", f"V{int(md.version)} {md.suite.name} {md.wrap_alg} -> V3 ({target_spec})"
    )


def _finish_swap(s3: Any, bucket: str, key: str, temp: str) -> None:
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


def _discard(s3: Any, bucket: str, temp: str) -> None:
    for name in (temp, *listing.sidecar_names([temp])):
        with contextlib.suppress(Exception):
            s3.delete_object(Bucket=bucket, Key=name)
