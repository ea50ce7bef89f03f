"""The one place that talks to S3 and to the materials manager (and so to KMS).

A session holds the S3 client, the materials manager and the configuration, and hands
back answers already shaped: botocore's errors translated into ``S3CSEError``s that name
the object, answers cut short refused, bodies guarded, instruction files fetched,
sidecars probed, data keys unwrapped. The clients, transfers and readers are written on
top of it and never reach for the S3 client themselves; like s3transfer with its
client, they take the session they are given.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from typing import Any

from ..core import envelope, integrity, reads, requests, sidecars
from ..core.ciphers import ContentDecryptor, ContentKey, content_decryptor
from ..core.config import CryptoConfig
from ..core.materials import EncryptionMaterials, EncryptionRequest, MaterialsManager
from ..core.metadata import DEFAULT_INSTRUCTION_SUFFIX, ContentMetadata
from ..errors import ObjectNotFoundError, S3CSEError
from ..io.backends import async_map_bounded
from ..io.botocore import (
    accept_answer,
    probe_failure,
    raise_unless_no_index,
    s3_errors,
    translate_s3_error,
)
from ..io.s3api import AsyncS3Client
from ..keyrings.key_cache import AsyncKeyCache
from .bodies import AsyncGuardedBody
from .streams import read_all, read_full

PROBES_AT_ONCE = 8


class AsyncSession:
    """An S3 client, a materials manager and a configuration, answering in s3cse's terms."""

    def __init__(
        self, s3: AsyncS3Client, materials: MaterialsManager, config: CryptoConfig
    ) -> None:
        self.s3, self.materials, self.config = s3, materials, config
        self.keys = AsyncKeyCache(config.decrypt_cache_seconds, config.decrypt_cache_entries)
        """Data keys unwrapped lately (``keyrings.key_cache``): this client's alone."""

    # ------------------------------------------------------------------ S3

    async def call(
        self, operation: str, bucket: str, key: str, action: str, **kwargs: Any
    ) -> dict[str, Any]:
        """One S3 request about ``bucket``/``key``; a failure is ``action`` failing."""
        try:
            response: dict[str, Any] = await getattr(self.s3, operation)(
                Bucket=bucket, Key=key, **kwargs
            )
        except s3_errors() as exc:
            raise translate_s3_error(exc, bucket, key, action) from None
        return accept_answer(operation, response, bucket, key, action, AsyncGuardedBody)

    async def read_body(self, bucket: str, key: str, action: str, **kwargs: Any) -> bytes:
        """The whole body of a GET, its connection given back."""
        return await read_all(await self.call("get_object", bucket, key, action, **kwargs))

    async def abort_multipart_upload(self, bucket: str, key: str, upload_id: str) -> None:
        """Give up a multipart upload; raises what botocore raised, for the caller to
        report beside the failure that made it give up."""
        await self.s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)

    async def delete_quietly(self, bucket: str, key: str) -> None:
        """Best effort: what a failed delete leaves reads as what it is."""
        with contextlib.suppress(*s3_errors()):
            await self.s3.delete_object(Bucket=bucket, Key=key)

    # ------------------------------------------------------------------ keys

    async def encryption_materials(self, request: EncryptionRequest) -> EncryptionMaterials:
        return await self.materials.aencryption_materials(request)

    async def unwrap(self, md: ContentMetadata, context: Mapping[str, str] | None) -> ContentKey:
        """Policy checks, data key unwrap (or the key unwrapped lately for the same
        request), commitment check: the object's content key."""
        request = envelope.decryption_request(md, self.config, context)
        data_key = await self.keys.fetch(request, lambda: self.materials.adecrypt_data_key(request))
        return envelope.unseal(md, data_key)

    async def decryptor(
        self, md: ContentMetadata, context: Mapping[str, str] | None
    ) -> ContentDecryptor:
        return content_decryptor(await self.unwrap(md, context))

    async def content_metadata(
        self,
        bucket: str,
        key: str,
        object_md: Mapping[str, str],
        suffix: str | None,
        request_args: Mapping[str, Any],
    ) -> ContentMetadata:
        """The object's encryption metadata, from its instruction file if it has one."""
        return await fetch_content_metadata(
            self.s3,
            bucket,
            key,
            object_md,
            suffix or self.config.instruction_suffix,
            requests.sse_c_args(request_args),
        )

    # ------------------------------------------------------------------ sidecars

    async def sidecar_kinds(
        self, bucket: str, key: str, sse_c: Mapping[str, Any], action: str = "sidecar check"
    ) -> dict[str, sidecars.Kind]:
        """What is under each of the object's sidecar names (``sidecars.Kind``): one
        listing tells which exist (most objects have none), a small GET each what an
        existing one is. Without the listing (no permission) every name is looked at."""
        names = [key + s for s in sidecars.SUFFIXES]
        present = await self.names_present(bucket, names)
        looked_at = names if present is None else [name for name in names if name in present]
        found = await probe_sidecars(self.s3, bucket, looked_at, sse_c, action)
        return {
            suffix: found.get(key + suffix, sidecars.Kind.ABSENT) for suffix in sidecars.SUFFIXES
        }

    async def names_present(self, bucket: str, names: list[str]) -> set[str] | None:
        """Which of ``names`` exist, from one listing; None when it cannot tell."""
        try:
            page = await self.s3.list_objects_v2(Bucket=bucket, **sidecars.names_query(names))
        except s3_errors():
            return None
        return sidecars.names_listed(names, page)

    async def prepare_sidecars(self, bucket: str, key: str, plan: requests.PutPlan) -> list[str]:
        """Before a write: what is under the object's sidecar names. Refuses a write whose
        sidecar would overwrite a user's object; returns the suffixes of the sidecars the
        write leaves stale (of the version it replaces), for ``finish_sidecars``."""
        existing = await self.sidecar_kinds(bucket, key, requests.sse_c_args(plan.args), "upload")
        return sidecars.stale_after_write(bucket, key, existing, plan.sidecar_suffixes())

    async def finish_sidecars(
        self,
        bucket: str,
        key: str,
        sealed: requests.SealedPut,
        stored_size: int,
        macs: list[bytes],
        stale: list[str],
    ) -> None:
        """Once the object is stored: its new sidecars, then the stale ones removed.

        What a crash between these writes can leave, and how it reads:

        * the new object beside the index of the version it replaced: stale
          (``index.SidecarHeader.is_stale_for``), set aside, never read as tampering;
        * the new object, keyed in its metadata, beside an old instruction file: the
          metadata wins, the file is never read;
        * the new object written for an instruction file that is not stored yet: it
          reads with the old version's file, or none. The AWS format binds nothing of
          an instruction file to its object, so this one fails as tampering would (V3:
          key commitment mismatch; V2: tag mismatch) until the object is written again.
          Writing the file first instead would break the old object on any failed
          upload, which is far likelier than a crash in between.

        Removing a stale sidecar is best effort: what remains reads as what it is.
        """
        for suffix, sidecar in sealed.sidecars(self.config, stored_size, macs):
            await self.put_sidecar(bucket, key, suffix, sidecar, sealed.args)
        await self.remove_stale(bucket, key, stale)

    async def remove_stale(self, bucket: str, key: str, stale: Iterable[str]) -> None:
        for suffix in stale:
            await self.delete_quietly(bucket, key + suffix)

    async def put_sidecar(
        self, bucket: str, key: str, suffix: str, body: bytes, put_args: Mapping[str, Any]
    ) -> None:
        """Store an instruction file or integrity index beside its object.

        If that fails the object is taken back: an object without its instruction file
        cannot be read, and one without the index it was promised misleads.
        """
        try:
            await self.call(
                "put_object",
                bucket,
                key + suffix,
                f"upload of {key + suffix}",
                Body=body,
                **requests.sidecar_args(put_args),
            )
        except S3CSEError:
            await self.delete_quietly(bucket, key)
            raise

    async def index_header(
        self,
        bucket: str,
        key: str,
        sse_c: Mapping[str, Any],
        span: int = integrity.HEADER_SIZE,
    ) -> integrity.SidecarHeader | None:
        """The header of the object's integrity index, unverified; None if it has none
        (or a user's object has the index's name). Only the first ``span`` bytes are
        read (the header, or with it the first entries), whatever the sidecar's size."""
        try:
            response = await self.call(
                "get_object",
                bucket,
                key + integrity.SUFFIX,
                "integrity index read",
                Range=f"bytes=0-{span - 1}",
                **sse_c,
            )
        except S3CSEError as exc:
            raise_unless_no_index(exc)
            return None
        body = response["Body"]
        try:
            return reads.sidecar_header(response, await body.read(span))
        finally:
            body.close()


async def probe_sidecar(
    s3: AsyncS3Client,
    bucket: str,
    key: str,
    sse_c: Mapping[str, Any] | None = None,
    action: str = "sidecar check",
) -> sidecars.Kind:
    """What is under the sidecar name ``key``: one small ranged GET (``sidecars``); when S3
    cannot be reached, ``action`` failed."""
    named = sidecars.split_name(key)
    assert named is not None, key
    suffix = named[1]
    try:
        response = await s3.get_object(
            Bucket=bucket, Key=key, Range=sidecars.probe_range(suffix), **dict(sse_c or {})
        )
        data = await read_all(response)
    except s3_errors() as exc:
        return probe_failure(exc, bucket, key, suffix, action)
    return sidecars.kind_of(suffix, response.get("Metadata", {}), data)


async def probe_sidecars(
    s3: AsyncS3Client,
    bucket: str,
    keys: Iterable[str],
    sse_c: Mapping[str, Any] | None = None,
    action: str = "sidecar check",
) -> dict[str, sidecars.Kind]:
    """``probe_sidecar`` of each key, a few at a time."""
    keys = list(dict.fromkeys(keys))

    async def probe(key: str) -> sidecars.Kind:
        return await probe_sidecar(s3, bucket, key, sse_c, action)

    return dict(zip(keys, await async_map_bounded(probe, keys, PROBES_AT_ONCE), strict=True))


async def listing_with_sidecars(
    s3: AsyncS3Client,
    bucket: str,
    pages: AsyncIterable[Mapping[str, Any]],
    sse_c: Mapping[str, Any] | None = None,
) -> AsyncIterator[tuple[dict[str, Any], bool]]:
    """Each entry of ListObjectsV2 ``pages`` (an object, or a common prefix as
    ``{"Prefix": ...}``) with whether it is a sidecar of a listed object. Names and
    sizes decide, and a small GET only for what they leave open (``sidecars``): a user's
    object named like a sidecar is not one."""
    seen: dict[str, int] = {}
    async for page in pages:
        for common in page.get("CommonPrefixes", []):
            yield {"Prefix": common["Prefix"]}, False
        items = page.get("Contents", [])
        kinds, undecided = sidecars.listing_kinds(
            [(item["Key"], int(item.get("Size") or 0)) for item in items], seen
        )
        kinds.update(await probe_sidecars(s3, bucket, undecided, sse_c, "list"))
        hidden = sidecars.hidden_in_listing(kinds)
        for item in items:
            yield item, item["Key"] in hidden


async def fetch_content_metadata(
    s3: AsyncS3Client,
    bucket: str,
    key: str,
    object_md: Mapping[str, str],
    suffix: str = DEFAULT_INSTRUCTION_SUFFIX,
    sse_c: Mapping[str, Any] | None = None,
) -> ContentMetadata:
    """Parse the object's metadata, fetching its instruction file when it needs one."""
    object_md = reads.object_metadata(object_md)
    md = reads.parse_object_metadata(object_md)
    if md is not None:
        return md
    names = reads.instruction_file_names(key, suffix, object_md)
    for instruction_key in names:
        try:
            response = await s3.get_object(Bucket=bucket, Key=instruction_key, **dict(sse_c or {}))
            stream = response["Body"]
            try:
                body = await read_full(stream, reads.instruction_file_read_limit(response))
            finally:
                stream.close()
        except s3_errors() as exc:
            error = translate_s3_error(exc, bucket, instruction_key, "instruction file read")
            if not isinstance(error, ObjectNotFoundError):
                raise error from None
            continue
        return reads.parse_with_instruction_file(object_md, body)
    raise reads.missing_instruction_file(object_md, bucket, key, names[0])
