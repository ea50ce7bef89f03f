"""``S3CSEFileSystem``: s3fs with plaintext sizes, hidden sidecars and encrypted bodies.

Every request goes through s3fs's own aiobotocore client, on s3fs's event loop: the
filesystem's ``AsyncEncryptionClient`` wraps that client, and its ranged reads are an
``AsyncObjectReader``'s. KMS is called through an aiobotocore client from s3fs's session,
with the filesystem's credentials.
"""

from __future__ import annotations

import asyncio
import functools
import os
import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import botocore.loaders
import s3fs
from fsspec.asyn import sync_wrapper

from .._async.client import AsyncEncryptionClient
from .._async.reader import AsyncObjectReader
from .._async.session import probe_sidecars
from ..core import sidecars
from ..core.config import CryptoConfig
from ..core.integrity import CHUNK_SIZE
from ..core.listing import assumed_plaintext_size, sidecar_names
from ..core.materials import Keyring
from ..errors import ConfigurationError, S3CSEError
from ..io.backends import async_map_bounded
from ..io.botocore import object_changed
from ..io.paths import check_copied_tail
from ..io.retries import aio_botocore_config
from ..keyrings.specs import kms_region
from .errors import filesystem_errors
from .files import S3CSEFile
from .http import LongHeaderSession
from .materials import MaterialsCache
from .options import KeyOptions, redacted
from .readahead import ReadAhead

HEADS_AT_ONCE = 8
"""Exact sizes: HEADs in flight at once for one listing."""
READ_BLOCK_SIZE = 32 * 1024 * 1024
"""How far a file opened for reading reads ahead at most (``readahead``)."""
TAIL = 64 * 1024
"""Opening a file reads its tail (a Parquet footer), at least this much: it checks that
remembered materials are still the object's, and serves the footer read that follows."""

T = TypeVar("T")


@functools.cache
def _service_models() -> Any:
    """botocore's reader of service models, shared by the clients every filesystem
    opens: each new filesystem would otherwise parse the KMS model again (~0.1 s)."""
    return botocore.loaders.create_loader()


def head_entry(name: str, head: Mapping[str, Any]) -> dict[str, Any]:
    """The ``info`` of a file from its HEAD answer, with s3fs's fields."""
    return {
        "ETag": head.get("ETag", ""),
        "LastModified": head.get("LastModified", ""),
        "size": head["ContentLength"],
        "name": name,
        "type": "file",
        "StorageClass": head.get("StorageClass", "STANDARD"),
        "VersionId": head.get("VersionId"),
        "ContentType": head.get("ContentType"),
    }


class S3CSEFileSystem(s3fs.S3FileSystem):  # type: ignore[misc]
    protocol = ("s3cse",)
    default_block_size = 2 * 1024 * 1024
    """What a file opened for writing buffers before handing it to the upload. Files
    opened for reading read ahead up to ``READ_BLOCK_SIZE`` (see ``readahead``)."""

    def __init__(
        self,
        *args: Any,
        kms_key_id: str | None = None,
        kms_discovery: bool = False,
        kms_allow: Sequence[str] = (),
        aes_key_file: str | None = None,
        aes_key: bytes | str | None = None,
        rsa_key_file: str | None = None,
        encryption_context: Mapping[str, str] | None = None,
        matdesc: Mapping[str, str] | None = None,
        format: str = "v3",
        legacy: bool = False,
        commitment_policy: str | None = None,
        instruction_file: bool = False,
        integrity_index: bool = True,
        unauthenticated_ranges: bool = False,
        exact_sizes: bool = False,
        reencrypt_on_copy: bool = False,
        decrypt_cache_seconds: float = CryptoConfig.decrypt_cache_seconds,
        **kwargs: Any,
    ) -> None:
        self._materials = MaterialsCache()
        self._opening: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        config = {"http_session_cls": LongHeaderSession, **(kwargs.get("config_kwargs") or {})}
        kwargs.setdefault("default_cache_type", ReadAhead.name)
        super().__init__(*args, **{**kwargs, "config_kwargs": config})
        self.crypto_config = CryptoConfig(
            format=format,  # type: ignore[arg-type]
            commitment_policy=commitment_policy,  # type: ignore[arg-type]
            legacy=legacy,
            instruction_file=instruction_file,
            integrity_index=integrity_index,
            unauthenticated_ranges=unauthenticated_ranges,
            decrypt_cache_seconds=decrypt_cache_seconds,
        )
        self._key_options = KeyOptions(
            kms_key_id,
            aes_key_file,
            aes_key,
            rsa_key_file,
            dict(matdesc or {}),
            kms_discovery,
            (kms_allow,) if isinstance(kms_allow, str) else tuple(kms_allow),
        )
        self.encryption_context = dict(encryption_context or {})
        self.exact_sizes = exact_sizes
        self.reencrypt_on_copy = reencrypt_on_copy
        self._keyring: Keyring | None = None
        self._encryption_client: AsyncEncryptionClient | None = None
        self.bytes_fetched = 0
        """Object bytes received by ranged and whole reads through this filesystem."""

    # ------------------------------------------------------------------ serialisation

    @property
    def storage_options(self) -> dict[str, Any]:
        """The constructor's options as fsspec keeps them, key bytes replaced."""
        return self._storage_options

    @storage_options.setter
    def storage_options(self, options: dict[str, Any]) -> None:
        self._storage_options = redacted(options)

    def to_dict(self, *, include_password: bool = True) -> dict[str, Any]:
        self._key_options.refuse_key_by_value("to_dict/to_json")
        result: dict[str, Any] = super().to_dict(include_password=include_password)
        return result

    def __reduce__(self) -> Any:
        self._key_options.refuse_key_by_value("pickling (Dask, multiprocessing)")
        return super().__reduce__()

    # ------------------------------------------------------------------ clients

    async def encryption_client(self, bucket: str | None = None) -> AsyncEncryptionClient:
        """The encryption client around s3fs's S3 client (built again when s3fs opens a
        new one, and so in each process that unpickles this filesystem)."""
        await self.set_session()
        s3 = await self.get_s3(bucket)
        client = self._encryption_client
        if client is None or (client.s3 is not s3 and not self.anon):
            keyring = await self._open_keyring()
            # anon=True (pandas retries with it) leaves listings unsigned; encrypted
            # objects are read and written with the credentials, as they always were
            s3_client = await self._open_client("s3") if self.anon else s3
            client = AsyncEncryptionClient(keyring, s3_client=s3_client, config=self.crypto_config)
            self._encryption_client = client
        return client

    async def _open_keyring(self) -> Keyring:
        if self._keyring is None:
            options = self._key_options
            region = kms_region(
                options.kms_key_id, options.kms_discovery, self.client_kwargs.get("region_name")
            )
            kms = await self._open_client("kms", region) if options.kms else None
            self._keyring = options.keyring(kms, region)
        return self._keyring

    async def _open_client(self, service: str, region: str | None = None) -> Any:
        """An aiobotocore client from s3fs's session with the filesystem's credentials
        (and for S3 its endpoint), closed with the filesystem as s3fs closes its own;
        ``region`` overrides the filesystem's (a KMS key ARN's own Region)."""
        kwargs = {
            k: v
            for k, v in self.client_kwargs.items()
            if k in ("region_name", "verify", "endpoint_url")
        }
        if region:
            kwargs["region_name"] = region
        if service == "s3" and self.endpoint_url and "endpoint_url" not in kwargs:
            kwargs["endpoint_url"] = self.endpoint_url
        if service != "s3":
            kwargs.pop("endpoint_url", None)
        self.session.register_component("data_loader", _service_models())
        creator = self.session.create_client(
            service,
            aws_access_key_id=self.key,
            aws_secret_access_key=self.secret,
            aws_session_token=self.token,
            config=aio_botocore_config(http_session_cls=LongHeaderSession),
            **kwargs,
        )
        opened = await creator.__aenter__()
        weakref.finalize(self, self.close_session, self.loop, creator)
        return opened

    # ------------------------------------------------------------------ listings

    async def _plaintext_entries(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return await async_map_bounded(self._plaintext_entry, entries, HEADS_AT_ONCE)

    async def _without_sidecars(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The entries without the sidecars of listed objects (``sidecars``): decided by
        name and size, and only for what those leave open by a look at the object."""
        files = sorted(
            (e["name"], int(e.get("size") or 0)) for e in entries if e.get("type") == "file"
        )
        kinds, undecided = sidecars.listing_kinds(files)
        kinds.update(await self._probe(undecided, "list"))
        hidden = sidecars.hidden_in_listing(kinds)
        return [e for e in entries if e["name"] not in hidden]

    async def _probe(self, paths: list[str], action: str) -> dict[str, sidecars.Kind]:
        """What is under each sidecar-like path (``sidecars.Kind``), a few at a time."""
        by_bucket: dict[str, list[str]] = {}
        for p in paths:
            bucket, key, _ = self.split_path(p)
            by_bucket.setdefault(bucket, []).append(key)
        kinds: dict[str, sidecars.Kind] = {}
        for bucket, keys in by_bucket.items():
            await self.set_session()
            found = await probe_sidecars(await self.get_s3(bucket), bucket, keys, action=action)
            kinds.update({f"{bucket}/{key}": kind for key, kind in found.items()})
        return kinds

    async def _plaintext_entry(self, entry: dict[str, Any]) -> dict[str, Any]:
        if entry.get("type") != "file" or "s3cse_size" in entry:
            return entry
        entry = dict(entry)
        stored = int(entry.get("size") or 0)
        entry["stored_size"] = stored
        entry["size"], entry["s3cse_size"] = assumed_plaintext_size(stored)
        if self.exact_sizes:
            entry.update(await self._exact_size(entry["name"], stored))
        return entry

    async def _exact_size(self, path: str, stored: int) -> dict[str, Any]:
        bucket, key, _ = self.split_path(path)
        try:
            head = await (await self.encryption_client(bucket)).head_object(Bucket=bucket, Key=key)
        except S3CSEError:
            return {"size": stored, "s3cse_size": "not-encrypted"}
        if head["ContentLength"] is None:  # legacy CBC without a stored length
            return {"size": stored, "s3cse_size": "cbc-upper-bound"}
        return {
            "size": head["ContentLength"],
            "s3cse_size": "exact",
            "encryption": head["Encryption"],
        }

    async def _ls(self, path: str, detail: bool = False, *args: Any, **kwargs: Any) -> Any:
        entries = await self._without_sidecars(await super()._ls(path, True, *args, **kwargs))
        entries = await self._plaintext_entries(entries)
        return entries if detail else [e["name"] for e in entries]

    async def _find(
        self,
        path: str,
        maxdepth: int | None = None,
        withdirs: bool | None = None,
        detail: bool = False,
        prefix: str = "",
        **kwargs: Any,
    ) -> Any:
        found = await super()._find(
            path, maxdepth=maxdepth, withdirs=withdirs, detail=True, prefix=prefix, **kwargs
        )
        entries = await self._without_sidecars(list(found.values()))
        entries = await self._plaintext_entries(entries)
        if detail:
            return {e["name"]: e for e in entries}
        return [e["name"] for e in entries]

    find = sync_wrapper(_find)  # s3fs binds its own _find here: bind ours

    async def _info(self, path: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        bucket, key, version = self.split_path(path)
        head = self._materials.head(bucket, key)
        if head is not None and not (args or version or kwargs.get("refresh")):
            return await self._plaintext_entry(head_entry(f"{bucket}/{key}", head))
        return await self._plaintext_entry(await super()._info(path, *args, **kwargs))

    # ------------------------------------------------------------------ data

    async def _call_s3(self, method: str, *args: Any, **kwargs: Any) -> Any:
        answer = await super()._call_s3(method, *args, **kwargs)
        if method == "head_object" and "VersionId" not in kwargs:  # info(): for open
            self._materials.remember_head(kwargs["Bucket"], kwargs["Key"], answer)
        return answer

    def invalidate_cache(self, path: str | None = None) -> None:
        super().invalidate_cache(path)
        if path is None:
            self._materials.forget()
        else:
            bucket, key, _ = self.split_path(path)
            self._materials.forget(bucket, key)

    def _listed_etag(self, path: str) -> str | None:
        name = self._strip_protocol(path)
        listed = self._ls_from_cache(name) or []
        return next((e.get("ETag") for e in listed if e.get("name") == name), None)

    async def open_reader(self, path: str, fresh: bool = False) -> AsyncObjectReader:
        """A reader of the object, from its remembered materials (``materials``) unless
        ``fresh``: opened with no request when a read is to check them (its ``IfMatch``),
        else after a HEAD that shows the same ETag. Otherwise opened, and remembered.
        Opens of one object wait for one another, so that ranges read side by side
        (``cat_ranges``) open it once."""
        bucket, key, _ = self.split_path(path)
        lock = self._opening.setdefault((bucket, key), asyncio.Lock())
        async with lock:
            return await self._open_reader(bucket, key, path, fresh)

    async def _open_reader(
        self, bucket: str, key: str, path: str, fresh: bool
    ) -> AsyncObjectReader:
        session = (await self.encryption_client(bucket)).session
        context = self.encryption_context
        head = None if fresh else self._materials.head(bucket, key)
        etag = head["ETag"] if head is not None else self._listed_etag(path)
        known = None if fresh else self._materials.get(bucket, key, context, etag)
        if known is not None and etag is None and (known.mode == "whole" or not known.size):
            # no read of these checks them (whole mode reads late; empty never reads)
            head = await session.call("head_object", bucket, key, "head")
            known = known if head["ETag"] == known.etag else None
        if known is not None:
            return AsyncObjectReader.reuse(session, bucket, key, known, on_fetch=self._count_fetch)
        reader = await AsyncObjectReader.open(
            session,
            bucket,
            key,
            encryption_context=context,
            on_fetch=self._count_fetch,
            head=head,
            tail_size=TAIL,
        )
        self._materials.put(bucket, key, context, reader.materials)
        self._materials.remember_head(bucket, key, reader.head)
        return reader

    async def _reading(
        self, path: str, read: Callable[[AsyncObjectReader], Awaitable[T]]
    ) -> tuple[AsyncObjectReader, T]:
        """A reader of the object and its first ``read``; when that finds the object
        changed since its materials were remembered, both again from a fresh open."""
        reader = await self.open_reader(path)
        try:
            return reader, await read(reader)
        except S3CSEError as exc:
            reader.close()
            if not object_changed(exc):
                raise
        self.invalidate_cache(path)
        reader = await self.open_reader(path, fresh=True)
        return reader, await read(reader)

    async def open_file_reader(self, path: str) -> tuple[AsyncObjectReader, int, bytes]:
        """A file's reader and its tail, from where it starts (``TAIL``)."""
        reader, (start, tail) = await self._reading(path, self._tail)
        return reader, start, tail

    @staticmethod
    async def _tail(reader: AsyncObjectReader) -> tuple[int, bytes]:
        if reader.tail is not None:  # read as it opened
            return reader.tail
        if reader.mode == "whole" or not reader.size:  # read late: whole, or nothing
            return reader.size, b""
        start = max(reader.size - TAIL, 0) // CHUNK_SIZE * CHUNK_SIZE  # whole chunks
        return start, await reader.read(start, reader.size - 1)

    def _count_fetch(self, count: int) -> None:
        self.bytes_fetched += count  # on the filesystem's loop only

    async def _cat_file(
        self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any
    ) -> bytes:
        bucket, key, _ = self.split_path(path)
        with filesystem_errors(path):
            known = self._materials.get(bucket, key, self.encryption_context, None)
            if start is None and end is None and known is None:
                response = await (await self.encryption_client(bucket)).get_object(
                    Bucket=bucket, Key=key, EncryptionContext=self.encryption_context
                )
                data: bytes = await response["Body"].read()
                return data

            async def read(reader: AsyncObjectReader) -> bytes:
                first = 0 if start is None else (start if start >= 0 else reader.size + start)
                last = reader.size if end is None else (end if end >= 0 else reader.size + end)
                return await reader.read(max(first, 0), last - 1)

            reader, data = await self._reading(path, read)
            reader.close()
            return data

    async def _pipe_file(self, path: str, data: bytes, **kwargs: Any) -> None:
        bucket, key, _ = self.split_path(path)
        with filesystem_errors(path):
            await (await self.encryption_client(bucket)).put_object(
                Bucket=bucket, Key=key, Body=data, EncryptionContext=self.encryption_context
            )
        self.invalidate_cache(path)

    async def _put_file(self, lpath: str, rpath: str, callback: Any = None, **kwargs: Any) -> None:
        if os.path.isdir(lpath):
            return
        bucket, key, _ = self.split_path(rpath)
        extra = {"EncryptionContext": self.encryption_context}
        with filesystem_errors(rpath):
            await (await self.encryption_client(bucket)).upload_file(
                lpath, bucket, key, ExtraArgs=extra
            )
        self.invalidate_cache(rpath)

    async def _get_file(self, rpath: str, lpath: str, callback: Any = None, **kwargs: Any) -> None:
        if os.path.isdir(lpath):
            return
        bucket, key, _ = self.split_path(rpath)
        check_copied_tail(key, lpath)
        with filesystem_errors(rpath):
            await (await self.encryption_client(bucket)).download_file(
                bucket, key, lpath, EncryptionContext=self.encryption_context
            )

    async def _cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        source_bucket, source_key, _ = self.split_path(path1)
        bucket, key, _ = self.split_path(path2)
        client = await self.encryption_client(bucket)
        context = self.encryption_context
        with filesystem_errors(path1):
            if self.reencrypt_on_copy:
                response = await client.get_object(
                    Bucket=source_bucket, Key=source_key, EncryptionContext=context
                )
                async with response["Body"] as body:
                    await client.upload_fileobj(
                        body, bucket, key, ExtraArgs={"EncryptionContext": context}
                    )
            else:
                await client.copy_object(
                    Bucket=bucket,
                    Key=key,
                    CopySource={"Bucket": source_bucket, "Key": source_key},
                )
        self.invalidate_cache(path2)

    async def _rm(self, path: Any, recursive: bool = False, **kwargs: Any) -> Any:
        paths = await self._expand_path(path, recursive=recursive)
        files = [p for p in paths if self.split_path(p)[1]]
        with_sidecars = files + await self._sidecars_of(files)
        dirs = [p for p in paths if not self.split_path(p)[1]]
        for start in range(0, len(with_sidecars), 1000):
            await self._bulk_delete(with_sidecars[start : start + 1000])
        for directory in dirs:
            await self._rmdir(directory)
        for p in paths:
            self.invalidate_cache(p)
            self.invalidate_cache(self._parent(p))
        return files

    async def _rm_file(self, path: str, **kwargs: Any) -> None:
        await self._rm(path)

    async def _sidecars_of(self, files: list[str]) -> list[str]:
        """The sidecars that go with ``files`` when they are deleted: never a user's
        object that is only named like one (unless it is among ``files`` itself)."""
        candidates = sidecar_names(files, besides=files)
        kinds = await self._probe(candidates, "delete")
        return [p for p in candidates if sidecars.removable(kinds[p])]

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        autocommit: bool = True,
        cache_options: Any = None,
        **kwargs: Any,
    ) -> Any:
        if mode not in ("rb", "wb"):
            raise ConfigurationError(f"s3cse:// opens files as 'rb' or 'wb', not {mode!r}")
        default = READ_BLOCK_SIZE if mode == "rb" else self.default_block_size
        return S3CSEFile(
            self,
            path,
            mode,
            block_size=block_size or default,
            cache_type=kwargs.get("cache_type", self.default_cache_type),
            cache_options=cache_options,
        )
