"""``s3cse://``: an fsspec filesystem of client-side encrypted S3 objects.

Built on s3fs: listings, globbing, directory markers and caching are s3fs's. What
changes is what a data tool needs to see plaintext:

* Sizes are plaintext sizes. AES-GCM objects (V2, V3) are the stored size minus the
  16-byte tag, with no extra request (as Hadoop S3A does, listings assume GCM); with
  ``exact_sizes=True`` each file is resolved with a HEAD. Each entry says how its size
  was found in ``s3cse_size``: ``assumed-gcm``, ``exact``, ``not-encrypted``.
* Instruction files and integrity indexes are hidden from listings and move with their
  object on ``rm``, ``mv`` and ``cp``. A user's own object that is only named like one
  (``setup.instruction`` beside ``setup``) is listed, copied and kept (``sidecars``).
* ``open(path, "rb")`` is seekable: reads fetch only the ranges they need. How they are
  protected is explicit (see ``s3cse.reader``): objects with an integrity index are
  verified chunk by chunk; other GCM objects are downloaded and verified whole on first
  read unless ``unauthenticated_ranges=True``. Objects this filesystem writes carry an
  index by default (``integrity_index=True``).
* ``open(path, "wb")`` streams into the parallel multipart uploader; an exception inside
  the ``with`` block aborts the upload, leaving no object.

Errors S3 answered are raised as the built-in exceptions s3fs raises for them
(``FileNotFoundError`` for a missing object or bucket, ``PermissionError`` for access
denied, ...), each still the s3cse error it was (``ObjectNotFoundError``) with its
message. What s3cse itself finds wrong (a failed authentication, say) stays an s3cse
error only: a tampered object is never reported as missing.

Options use the CLI's names (``kms_key_id``, ``aes_key_file``, ``rsa_key_file``,
``encryption_context``, ``format``, ``legacy``, ``commitment_policy``) beside s3fs's
(``endpoint_url``, ``key``, ``secret``, ``client_kwargs``). The filesystem pickles as
its arguments, so worker processes rebuild their own clients; key files travel as paths,
never as key bytes. A key passed by value (``aes_key=``) never leaves the process: it is
kept out of ``storage_options``, and ``to_json``/``to_dict``/pickling refuse with a
pointer to ``aes_key_file``, because serialised filesystems end up in data catalogs,
task graphs and logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import queue
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import s3fs
from fsspec.asyn import sync_wrapper
from fsspec.spec import AbstractBufferedFile
from s3fs.errors import translate_boto_error

from .aio import aprobe_sidecars
from .client import EncryptionClient
from .core import sidecars
from .core.config import CryptoConfig
from .core.listing import assumed_plaintext_size, sidecar_names
from .core.materials import Keyring
from .errors import ConfigurationError, ObjectNotFoundError, S3CSEError, S3ErrorResponse, also_as
from .io.paths import check_copied_tail
from .io.retries import botocore_config
from .keyrings.specs import build_keyrings, combine
from .reader import ObjectReader

KEYS_BY_VALUE = ("aes_key",)
"""Constructor options that carry key bytes: never stored where fsspec serialises from."""
REDACTED = "<redacted>"


@dataclass(frozen=True)
class _KeyOptions:
    kms_key_id: str | None
    aes_key_file: str | None
    aes_key: bytes | str | None = field(repr=False)
    rsa_key_file: str | None
    matdesc: dict[str, str]


class S3CSEFileSystem(s3fs.S3FileSystem):  # type: ignore[misc]
    protocol = ("s3cse",)
    default_block_size = 2 * 1024 * 1024
    """Smaller than s3fs's 50 MiB: columnar readers jump around, and each block read is
    fetched (and, with an index, verified) as a whole."""

    def __init__(
        self,
        *args: Any,
        kms_key_id: str | None = None,
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
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.crypto_config = CryptoConfig(
            format=format,  # type: ignore[arg-type]
            commitment_policy=commitment_policy,  # type: ignore[arg-type]
            legacy=legacy,
            instruction_file=instruction_file,
            integrity_index=integrity_index,
            unauthenticated_ranges=unauthenticated_ranges,
        )
        self._key_options = _KeyOptions(
            kms_key_id, aes_key_file, aes_key, rsa_key_file, dict(matdesc or {})
        )
        if not (kms_key_id or aes_key_file or aes_key or rsa_key_file):
            raise ConfigurationError(
                "s3cse:// needs a key: kms_key_id, aes_key_file (or aes_key) or rsa_key_file"
            )
        self.encryption_context = dict(encryption_context or {})
        self.exact_sizes = exact_sizes
        self.reencrypt_on_copy = reencrypt_on_copy
        self._encryption_client: EncryptionClient | None = None
        self._client_lock = threading.Lock()
        self.bytes_fetched = 0
        """Object bytes received by ranged and whole reads through this filesystem."""

    # ------------------------------------------------------------------ serialisation

    @property
    def storage_options(self) -> dict[str, Any]:
        """The constructor's options as fsspec keeps them, key bytes replaced."""
        return self._storage_options

    @storage_options.setter
    def storage_options(self, options: dict[str, Any]) -> None:
        self._storage_options = {
            k: REDACTED if k in KEYS_BY_VALUE and v is not None else v for k, v in options.items()
        }

    def _refuse_key_by_value(self, what: str) -> None:
        if self._key_options.aes_key is not None:
            raise ConfigurationError(
                f"this s3cse:// filesystem holds an AES key by value (aes_key=), which {what} "
                "would write out in clear",
                hint="Pass the key as a file instead (aes_key_file=PATH, made by "
                "`s3cse keygen aes`): only its path is serialised",
            )

    def to_dict(self, *, include_password: bool = True) -> dict[str, Any]:
        self._refuse_key_by_value("to_dict/to_json")
        result: dict[str, Any] = super().to_dict(include_password=include_password)
        return result

    def __reduce__(self) -> Any:
        self._refuse_key_by_value("pickling (Dask, multiprocessing)")
        return super().__reduce__()

    # ------------------------------------------------------------------ clients

    @property
    def encryption_client(self) -> EncryptionClient:
        """A sync boto3 client with the same endpoint and credentials, built lazily (and
        so again in each process that unpickles this filesystem)."""
        with self._client_lock:
            if self._encryption_client is None:
                self._encryption_client = EncryptionClient(
                    self._keyring(), s3_client=self._boto3_client("s3"), config=self.crypto_config
                )
            return self._encryption_client

    def _boto3_client(self, service: str) -> Any:
        import boto3

        kwargs = {
            k: v
            for k, v in self.client_kwargs.items()
            if k in ("region_name", "verify", "endpoint_url")
        }
        if service == "s3" and self.endpoint_url and "endpoint_url" not in kwargs:
            kwargs["endpoint_url"] = self.endpoint_url
        if service != "s3":
            kwargs.pop("endpoint_url", None)
        session = boto3.session.Session(
            aws_access_key_id=self.key,
            aws_secret_access_key=self.secret,
            aws_session_token=self.token,
        )
        return session.client(service, config=botocore_config(), **kwargs)

    def _keyring(self) -> Keyring:
        options = self._key_options
        rings = build_keyrings(
            kms_key_id=options.kms_key_id,
            kms_client=lambda: self._boto3_client("kms"),
            aes_key=options.aes_key,
            aes_key_file=options.aes_key_file,
            rsa_key_file=options.rsa_key_file,
            matdesc=options.matdesc,
        )
        return combine(rings)

    async def _in_thread(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, lambda: func(*args, **kwargs))

    async def _on_object(self, path: str, func: Any, *args: Any, **kwargs: Any) -> Any:
        """``_in_thread`` for work on the object at ``path``, its S3 errors raised as the
        built-in exceptions fsspec users catch (``filesystem_errors``)."""
        with filesystem_errors(path):
            return await self._in_thread(func, *args, **kwargs)

    # ------------------------------------------------------------------ listings

    def _plaintext_entries(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [self._plaintext_entry(entry) for entry in entries]

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
            found = await aprobe_sidecars(await self.get_s3(bucket), bucket, keys, action=action)
            kinds.update({f"{bucket}/{key}": kind for key, kind in found.items()})
        return kinds

    def _plaintext_entry(self, entry: dict[str, Any]) -> dict[str, Any]:
        if entry.get("type") != "file" or "s3cse_size" in entry:
            return entry
        entry = dict(entry)
        stored = int(entry.get("size") or 0)
        entry["stored_size"] = stored
        entry["size"], entry["s3cse_size"] = assumed_plaintext_size(stored)
        if self.exact_sizes:
            entry.update(self._exact_size(entry["name"], stored))
        return entry

    def _exact_size(self, path: str, stored: int) -> dict[str, Any]:
        bucket, key, _ = self.split_path(path)
        try:
            head = self.encryption_client.head_object(Bucket=bucket, Key=key)
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
        if self.exact_sizes:
            entries = await self._in_thread(self._plaintext_entries, entries)
        else:
            entries = self._plaintext_entries(entries)
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
        if self.exact_sizes:
            entries = await self._in_thread(self._plaintext_entries, entries)
        else:
            entries = self._plaintext_entries(entries)
        if detail:
            return {e["name"]: e for e in entries}
        return [e["name"] for e in entries]

    find = sync_wrapper(_find)  # s3fs binds its own _find here: bind ours

    async def _info(self, path: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        entry = await super()._info(path, *args, **kwargs)
        if self.exact_sizes:
            result: dict[str, Any] = await self._in_thread(self._plaintext_entry, entry)
            return result
        return self._plaintext_entry(entry)

    # ------------------------------------------------------------------ data

    def _reader(self, path: str) -> ObjectReader:
        bucket, key, _ = self.split_path(path)
        return ObjectReader(
            self.encryption_client,
            bucket,
            key,
            encryption_context=self.encryption_context,
            on_fetch=self._count_fetch,
        )

    def _count_fetch(self, count: int) -> None:
        with self._client_lock:
            self.bytes_fetched += count

    async def _cat_file(
        self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any
    ) -> bytes:
        bucket, key, _ = self.split_path(path)
        if start is None and end is None:
            response = await self._on_object(
                path,
                self.encryption_client.get_object,
                Bucket=bucket,
                Key=key,
                EncryptionContext=self.encryption_context,
            )
            data: bytes = response["Body"].read()
            return data

        def ranged() -> bytes:
            with self._reader(path) as reader:
                first = 0 if start is None else (start if start >= 0 else reader.size + start)
                last = reader.size if end is None else (end if end >= 0 else reader.size + end)
                return reader.read(max(first, 0), last - 1)

        result: bytes = await self._on_object(path, ranged)
        return result

    async def _pipe_file(self, path: str, data: bytes, **kwargs: Any) -> None:
        bucket, key, _ = self.split_path(path)
        await self._on_object(
            path,
            self.encryption_client.put_object,
            Bucket=bucket,
            Key=key,
            Body=data,
            EncryptionContext=self.encryption_context,
        )
        self.invalidate_cache(path)

    async def _put_file(self, lpath: str, rpath: str, callback: Any = None, **kwargs: Any) -> None:
        if os.path.isdir(lpath):
            return
        bucket, key, _ = self.split_path(rpath)
        await self._on_object(
            rpath,
            self.encryption_client.upload_file,
            lpath,
            bucket,
            key,
            ExtraArgs={"EncryptionContext": self.encryption_context},
        )
        self.invalidate_cache(rpath)

    async def _get_file(self, rpath: str, lpath: str, callback: Any = None, **kwargs: Any) -> None:
        if os.path.isdir(lpath):
            return
        bucket, key, _ = self.split_path(rpath)
        check_copied_tail(key, lpath)
        await self._on_object(
            rpath,
            self.encryption_client.download_file,
            bucket,
            key,
            lpath,
            EncryptionContext=self.encryption_context,
        )

    async def _cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        source_bucket, source_key, _ = self.split_path(path1)
        bucket, key, _ = self.split_path(path2)
        client = self.encryption_client
        if self.reencrypt_on_copy:

            def reencrypt() -> None:
                response = client.get_object(
                    Bucket=source_bucket, Key=source_key, EncryptionContext=self.encryption_context
                )
                with response["Body"] as body:
                    client.upload_fileobj(
                        body, bucket, key, ExtraArgs={"EncryptionContext": self.encryption_context}
                    )

            await self._on_object(path1, reencrypt)
        else:
            await self._on_object(
                path1,
                client.copy_object,
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
        return S3CSEFile(
            self,
            path,
            mode,
            block_size=block_size or self.default_block_size,
            cache_type=kwargs.get("cache_type", self.default_cache_type),
            cache_options=cache_options,
        )


_ERRNO = {
    FileNotFoundError: errno.ENOENT,
    PermissionError: errno.EACCES,
    FileExistsError: errno.EEXIST,
    TimeoutError: errno.ETIMEDOUT,
}


def filesystem_error(error: S3CSEError, path: str) -> S3CSEError:
    """``error``, when S3 answered it, made also the built-in exception s3fs raises for that
    answer (``translate_boto_error``), with ``errno`` and ``filename`` set; s3cse's own
    findings are returned as they are."""
    if not isinstance(error, S3ErrorResponse):
        return error
    if isinstance(error, ObjectNotFoundError):  # whatever S3 called it: "404", NoSuchKey
        builtin: OSError = FileNotFoundError()
    else:
        builtin = translate_boto_error(error, set_cause=False)
    mapped = also_as(error, type(builtin))
    assert isinstance(mapped, OSError)
    mapped.errno = builtin.errno or _ERRNO.get(type(builtin), errno.EIO)
    mapped.strerror, mapped.filename = error.message, path
    return mapped


@contextlib.contextmanager
def filesystem_errors(path: str) -> Iterator[None]:
    """Raise S3's error answers inside as fsspec users expect them (``filesystem_error``)."""
    try:
        yield
    except S3CSEError as exc:
        mapped = filesystem_error(exc, path)
        if mapped is exc:
            raise
        raise mapped.with_traceback(exc.__traceback__) from None


class _Pipe:
    """Blocks written by the file, read by the uploader thread; a bounded hand-over."""

    def __init__(self, depth: int = 2) -> None:
        self._blocks: queue.Queue[bytes | BaseException | None] = queue.Queue(depth)
        self._pending = b""
        self._done = False

    def put(self, data: bytes) -> None:
        self._blocks.put(data)

    def close(self, error: BaseException | None = None) -> None:
        self._blocks.put(error)

    def read(self, size: int = -1) -> bytes:
        while not self._done and (size < 0 or len(self._pending) < size):
            block = self._blocks.get()
            if isinstance(block, BaseException):
                raise block
            if block is None:
                self._done = True
                break
            self._pending += block
        cut = len(self._pending) if size < 0 else size
        out, self._pending = self._pending[:cut], self._pending[cut:]
        return out


class _Aborted(S3CSEError):
    """The writer raised: the upload is abandoned, nothing is stored."""


class S3CSEFile(AbstractBufferedFile):  # type: ignore[misc]
    """A seekable plaintext view of one encrypted object, or a streaming upload into one."""

    def __init__(self, fs: S3CSEFileSystem, path: str, mode: str = "rb", **kwargs: Any) -> None:
        self._reader: ObjectReader | None = None
        if mode == "rb":
            with filesystem_errors(path):
                self._reader = fs._reader(path)
            kwargs["size"] = self._reader.size
        super().__init__(fs, path, mode, **kwargs)
        self._pipe: _Pipe | None = None
        self._upload: threading.Thread | None = None
        self._upload_error: BaseException | None = None

    @property
    def protection(self) -> str:
        """How reads are protected: ``indexed``, ``whole`` or ``unauthenticated``."""
        return self._reader.mode if self._reader is not None else "write"

    def _fetch_range(self, start: int, end: int) -> bytes:
        assert self._reader is not None
        with filesystem_errors(self.path):
            return self._reader.read(start, end - 1)

    def _initiate_upload(self) -> None:
        bucket, key, _ = self.fs.split_path(self.path)
        self._pipe = pipe = _Pipe()
        client = self.fs.encryption_client
        context = self.fs.encryption_context

        def run() -> None:
            try:
                client.upload_fileobj(pipe, bucket, key, ExtraArgs={"EncryptionContext": context})
            except BaseException as exc:  # handed to the writer's thread
                self._upload_error = exc

        self._upload = threading.Thread(target=run, name=f"s3cse-upload-{key}", daemon=True)
        self._upload.start()

    def _upload_chunk(self, final: bool = False) -> bool:
        assert self._pipe is not None
        with filesystem_errors(self.path):
            self._raise_upload_error()
            self._pipe.put(self.buffer.getvalue())
            if final:
                self._pipe.close()
                assert self._upload is not None
                self._upload.join()
                self._raise_upload_error()
                self.fs.invalidate_cache(self.path)
        return True

    def _raise_upload_error(self) -> None:
        if self._upload_error is not None:
            raise self._upload_error

    def discard(self) -> None:
        """Abandon a write: the uploader fails, aborting any multipart upload."""
        if self._pipe is not None and self._upload is not None:
            self._pipe.close(_Aborted("the writer discarded the file"))
            self._upload.join()
        self.closed = True

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> None:
        if exc_type is not None and self.mode == "wb":
            if self._pipe is None and not self.closed:
                self.closed = True  # nothing was sent: simply never upload
                return
            self.discard()
            return
        self.close()

    def close(self) -> None:
        super().close()
        if self._reader is not None:
            self._reader.close()
