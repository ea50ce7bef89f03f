# Generated from s3cse/_async/reader.py by scripts/unasync.py: edit that file instead.
"""Random access to one encrypted object, for seekable files (fsspec, Parquet footers).

The data key is unwrapped once when the reader opens; each read then fetches only what
it needs. How a read is protected is decided per object, explicitly:

* ``indexed``: the object has an integrity index: every chunk a read touches is
  verified before its plaintext is released. The index's header and, for objects up to
  ``ENTRIES_AT_OPEN`` chunks, all its entries come in one GET beside the HEAD; a read
  then costs one GET (larger objects fetch a read's entries beside its data). Reads
  longer than ``PART_SIZE`` are fetched as parts, side by side.
* ``whole``: AES-GCM without an index, and unauthenticated ranges not allowed: the first
  read downloads and verifies the whole object (in parallel, into a spooled temp file);
  later reads are served from it.
* ``unauthenticated``: AES-GCM ranges decrypted with CTR (allowed by the caller), or
  legacy AES-CBC. A read that continues exactly where the previous one stopped feeds a
  running GHASH, so a complete sequential read still checks the tag at the end.

Reads are positional, so tasks (or threads, for the sync reader) may share a reader:
the spool of ``whole`` mode and the running GHASH are used one reader at a time.

Opened with a ``tail_size``, a reader also reads the object's last bytes (a Parquet
footer) as it opens: by a GET that stands for the HEAD, or beside the key unwrap when
the HEAD is known (``tail``).

What opening established (``ObjectMaterials``: the ETag, metadata, content key, index
key and entries) can open another reader of the same object version (``reuse``) with no
HEAD and no key unwrap; every GET of a reader names its ETag (``IfMatch``), so materials
of an overwritten object fail the first request (``object_changed``) instead of being
used on other bytes.
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
from collections.abc import Callable, Mapping
from typing import IO, Any

from ..core import envelope, integrity, ranges, reads, requests
from ..core.ciphers import ContentKey
from ..core.gcm import BLOCK, GcmLayout
from ..core.metadata import ContentMetadata
from ..core.multipart import TransferConfig
from ..core.reads import ObjectMaterials
from ..errors import (
    ConfigurationError,
    InvalidRangeError,
    S3CSEError,
    TagMismatchError,
    located,
)
from ..io.backends import both, map_bounded
from ..io.running import Semaphore
from . import ranged
from .session import Session

MODES = ("indexed", "whole", "unauthenticated")
ENTRIES_AT_OPEN = 4096
"""Index entries fetched with its header (64 KiB: every entry of an object up to 1 GiB)."""
PART_SIZE = 16 * 1024 * 1024
"""Indexed reads longer than this are fetched in parts of this size, side by side."""
PARTS_AT_ONCE = 8


class ObjectReader:
    """Positional reads of one object through ``session``; open one with ``open``."""

    etag: str
    stored_size: int
    size: int
    mode: str
    metadata: ContentMetadata
    content_key: ContentKey

    def __init__(
        self,
        session: Session,
        bucket: str,
        key: str,
        *,
        extra_args: Mapping[str, Any] | None = None,
        on_fetch: Callable[[int], None] | None = None,
    ) -> None:
        """A reader not yet opened: ``open`` (or ``_load``) fetches what it reads by."""
        self.session, self.bucket, self.key = session, bucket, key
        self.bytes_fetched = 0
        """Bytes of object bodies received so far (the ciphertext a read really cost)."""
        self._on_fetch = on_fetch
        self._extra = dict(extra_args or {})
        self._spool: IO[bytes] | None = None
        self.head: Mapping[str, Any] = {}
        """The HEAD answer the reader opened with (empty for a reused one)."""
        self.tail: tuple[int, bytes] | None = None
        """Where the plaintext read as the reader opened starts, and that plaintext."""
        self._index_args: dict[str, Any] = {}
        self._sidecar: integrity.SidecarHeader | None = None
        self._suffix: tuple[int, bytes] | None = None
        self._entries = b""
        self.stale_index = False
        """The object has an integrity index, but of an earlier version of it: unused."""
        self._turn = Semaphore(1)  # the spool and the running GHASH, one at a time
        self._count_lock = threading.Lock()  # bytes_fetched (sync readers share threads)
        self._hashed = 0
        self.verified = False
        """True once the whole object has been checked against its tag."""

    @classmethod
    def open(
        cls,
        session: Session,
        bucket: str,
        key: str,
        *,
        encryption_context: Mapping[str, str] | None = None,
        instruction_suffix: str | None = None,
        extra_args: Mapping[str, Any] | None = None,
        on_fetch: Callable[[int], None] | None = None,
        head: Mapping[str, Any] | None = None,
        tail_size: int = 0,
    ) -> ObjectReader:
        """A reader of ``bucket``/``key``: its HEAD, metadata and data key fetched.
        ``head``: the object's HEAD answer when the caller already has it (a listing's
        info), so it is not asked again; a stale one fails the first read (``IfMatch``).
        ``tail_size``: the last bytes to read as it opens (``tail``: a Parquet footer),
        fetched beside the key unwrap."""
        reader = ObjectReader(session, bucket, key, extra_args=extra_args, on_fetch=on_fetch)
        reader._load(encryption_context, instruction_suffix, head, tail_size)
        return reader

    @classmethod
    def reuse(
        cls,
        session: Session,
        bucket: str,
        key: str,
        materials: ObjectMaterials,
        *,
        extra_args: Mapping[str, Any] | None = None,
        on_fetch: Callable[[int], None] | None = None,
    ) -> ObjectReader:
        """A reader of the object version ``materials`` were established for, opened
        with no request: if the object has changed since, its first read fails
        (``object_changed``)."""
        reader = ObjectReader(session, bucket, key, extra_args=extra_args, on_fetch=on_fetch)
        reader._adopt(materials)
        return reader

    @property
    def materials(self) -> ObjectMaterials:
        """What this reader opened with, for ``reuse``."""
        return ObjectMaterials(
            etag=self.etag,
            stored_size=self.stored_size,
            size=self.size,
            mode=self.mode,
            metadata=self.metadata,
            content_key=self.content_key,
            index_key=self._index_key,
            index_args=dict(self._index_args),
            entries=self._entries,
            stale_index=self.stale_index,
        )

    def _adopt(self, materials: ObjectMaterials) -> None:
        self.etag, self.stored_size, self.size = (
            materials.etag,
            materials.stored_size,
            materials.size,
        )
        self._extra["IfMatch"] = self.etag
        self.mode, self.metadata = materials.mode, materials.metadata
        self.content_key, self._index_key = materials.content_key, materials.index_key
        self._index_args, self._entries = dict(materials.index_args), materials.entries
        self.stale_index = materials.stale_index
        authenticated = self.metadata.suite.authenticated
        self._layout = GcmLayout(self.content_key) if authenticated else None
        self._hasher = self._layout.hasher() if self._layout is not None else None

    # ------------------------------------------------------------------ opening

    def _load(
        self,
        encryption_context: Mapping[str, str] | None,
        instruction_suffix: str | None,
        known_head: Mapping[str, Any] | None = None,
        tail_size: int = 0,
    ) -> None:
        """The object's HEAD, metadata, content key, index and plaintext size; with
        ``tail_size``, its last bytes too (``tail``)."""
        session, bucket, key = self.session, self.bucket, self.key
        with located(bucket, key):
            # the index's header (and entries) is fetched beside the HEAD: one round trip
            head, sidecar = both(lambda: self._head(known_head, tail_size), self._index_header)
            self.head = head
            self.etag = head["ETag"]
            self._extra["IfMatch"] = self.etag  # every read sees this very object
            self.stored_size = int(head["ContentLength"])
            self.metadata = session.content_metadata(
                bucket, key, head.get("Metadata", {}), instruction_suffix, self._extra
            )
            envelope.check_read_policy(self.metadata, session.config)
            self.content_key, tail = both(
                lambda: session.unwrap(self.metadata, encryption_context),
                lambda: self._tail_ciphertext(tail_size),
            )
            authenticated = self.metadata.suite.authenticated
            if authenticated and isinstance(sidecar, BaseException):
                raise sidecar
            self._sidecar = None if isinstance(sidecar, BaseException) else sidecar
            self._index_key = self._open_index() if authenticated else None
            self.mode = (
                "indexed"
                if self._index_key is not None
                else "whole"
                if authenticated and not session.config.unauthenticated_ranges
                else "unauthenticated"
            )
            self.size = self._plaintext_size()
        self._layout = GcmLayout(self.content_key) if authenticated else None
        self._hasher = self._layout.hasher() if self._layout is not None else None
        if tail is not None and self.mode == "indexed":
            start, ciphertext = tail
            with located(bucket, key):
                self.tail = start, self._read_chunks(start, self.size - 1, ciphertext)

    def _tail_start(self, tail_size: int) -> int:
        """Where a tail of at least ``tail_size`` bytes starts, at a chunk boundary."""
        return (
            max(self.stored_size - BLOCK - tail_size, 0)
            // integrity.CHUNK_SIZE
            * (integrity.CHUNK_SIZE)
        )

    def _tail_ciphertext(self, tail_size: int) -> tuple[int, bytes] | None:
        """The ciphertext of the chunks holding the last ``tail_size`` bytes of an
        AES-GCM object, fetched while its key is unwrapped (checked once it is)."""
        plain_size = self.stored_size - BLOCK
        if not tail_size or not self.metadata.suite.authenticated or plain_size <= 0:
            return None
        start = self._tail_start(tail_size)
        if self._suffix is not None and self._suffix[0] <= start:
            first, data = self._suffix
            return start, data[start - first : plain_size - first]
        return start, self._get(f"bytes={start}-{plain_size - 1}")

    def _head(self, known: Mapping[str, Any] | None, tail_size: int) -> Mapping[str, Any]:
        """The object's HEAD answer: ``known``, or when a tail is to be read the answer
        of the GET of that tail (``_head_by_tail``), else a HEAD's."""
        if known is not None:
            return known
        if tail_size:
            with contextlib.suppress(InvalidRangeError):  # an empty object has no tail
                return self._head_by_tail(tail_size)
        head: Mapping[str, Any] = self.session.call(
            "head_object", self.bucket, self.key, "head", **self._extra
        )
        return head

    def _head_by_tail(self, tail_size: int) -> Mapping[str, Any]:
        """A GET of the object's last bytes, enough for a tail of ``tail_size`` at a
        chunk boundary (kept in ``_suffix``), answering what a HEAD would: its headers
        hold the metadata and ETag, its Content-Range the size. One request fewer."""
        span = tail_size + integrity.CHUNK_SIZE + BLOCK
        response = self.session.call(
            "get_object", self.bucket, self.key, "head", Range=f"bytes=-{span}", **self._extra
        )
        body = response["Body"]
        try:
            data = body.read()
        finally:
            body.close()
        self._fetched(len(data))
        first, _, total = reads.content_range(response)
        self._suffix = first, data
        return {**{k: v for k, v in response.items() if k != "Body"}, "ContentLength": total}

    def _index_header(self) -> integrity.SidecarHeader | S3CSEError | None:
        """The index's header and first entries; what went wrong is returned, to be
        raised only for an object that would use an index (AES-GCM)."""
        span = integrity.HEADER_SIZE + ENTRIES_AT_OPEN * integrity.MAC_LENGTH
        sse_c = requests.sse_c_args(self._extra)
        try:
            return self.session.index_header(self.bucket, self.key, sse_c, span)
        except S3CSEError as exc:
            return exc

    def _open_index(self) -> integrity.IndexKey | None:
        """The index key, once the index header verifies and the object's and sidecar's
        sizes agree with it; None without an index, or with one of an earlier version of
        the object (``stale_index``: reads then go as without one). Later entry reads
        are pinned to the sidecar checked here (its ETag)."""
        sse_c = requests.sse_c_args(self._extra)
        found, self.stale_index = reads.usable_index(self._sidecar, self.metadata)
        if found is None:
            return None
        index_key = reads.open_index(self.metadata, self.content_key, found, self.stored_size)
        self._index_args = {**sse_c, "IfMatch": found.etag}
        self._entries = found.data[integrity.HEADER_SIZE :]
        return index_key

    def _plaintext_size(self) -> int:
        md = self.metadata
        if md.suite.authenticated:
            if self.stored_size < md.suite.tag_length:
                raise TagMismatchError("ciphertext is shorter than its authentication tag")
            return self.stored_size - md.suite.tag_length
        # the padding tells the size; the metadata's claim of it is not authenticated
        tail = self._get(f"bytes=-{min(self.stored_size, 2 * BLOCK)}")
        return ranges.cbc_plaintext_size(self.content_key, self.stored_size, tail, md.iv or b"")

    # ------------------------------------------------------------------ reading

    def read(self, first: int, last: int) -> bytes:
        """Plaintext bytes ``first..last`` (inclusive), clamped to the object: empty at
        or past its end, as a file read there is."""
        if first < 0:
            raise ConfigurationError(f"a read cannot start before byte 0 (asked: {first})")
        last = min(last, self.size - 1)
        with located(self.bucket, self.key):
            if self.mode == "whole":
                # Without an index the size itself is unauthenticated until the whole
                # object verifies: even a read past the end must not skip that.
                with self._turn:  # one position for every reader of the spool
                    spool = self._whole()
                    if first > last:
                        return b""
                    spool.seek(first)
                    return spool.read(last - first + 1)
            if first > last:
                return b""
            if self.mode == "indexed":
                return self._read_indexed(first, last)
            return self._read_ranged(first, last)

    def _get(self, header: str, sidecar: bool = False) -> bytes:
        """Object bytes, or with ``sidecar`` integrity index bytes."""
        key = self.key + integrity.SUFFIX if sidecar else self.key
        extra = self._index_args if sidecar else self._extra
        data = self.session.read_body(self.bucket, key, "ranged download", Range=header, **extra)
        self._fetched(len(data))
        return data

    def _fetched(self, count: int) -> None:
        with self._count_lock:
            self.bytes_fetched += count
        if self._on_fetch is not None:
            self._on_fetch(count)

    def _read_indexed(self, first: int, last: int) -> bytes:
        if last - first < PART_SIZE:
            return self._read_chunks(first, last)
        bounds = [
            (at, min(at + PART_SIZE, last + 1) - 1) for at in range(first, last + 1, PART_SIZE)
        ]
        parts = map_bounded(lambda span: self._read_chunks(*span), bounds, PARTS_AT_ONCE)
        return b"".join(parts)

    def _entries_of(self, chunk_first: int, chunk_last: int) -> bytes | None:
        """The entries fetched at open for these chunks, if they were."""
        end = (chunk_last + 1) * integrity.MAC_LENGTH
        if len(self._entries) < end:
            return None
        return self._entries[chunk_first * integrity.MAC_LENGTH : end]

    def _read_chunks(self, first: int, last: int, fetched: bytes | None = None) -> bytes:
        """Plaintext ``first..last`` of whole verified chunks; ``fetched``: those chunks'
        ciphertext when already fetched."""
        assert self._index_key is not None and self._layout is not None
        chunk_first = first // integrity.CHUNK_SIZE
        chunk_last = last // integrity.CHUNK_SIZE
        start = chunk_first * integrity.CHUNK_SIZE
        end = min((chunk_last + 1) * integrity.CHUNK_SIZE, self.size) - 1
        known = self._entries_of(chunk_first, chunk_last)
        entries = integrity.entries_range(chunk_first, chunk_last)
        if fetched is not None:
            ciphertext = fetched
            blob = known if known is not None else self._get(entries, sidecar=True)
        elif known is not None:
            blob, ciphertext = known, self._get(f"bytes={start}-{end}")
        else:
            blob, ciphertext = both(
                lambda: self._get(entries, sidecar=True),
                lambda: self._get(f"bytes={start}-{end}"),
            )
        macs = integrity.split_entries(blob, chunk_first, chunk_last)
        verifier = integrity.VerifiedRange(
            self._index_key, macs, chunk_first, self._layout.ctr(start), first, last, self.size
        )
        return verifier.update(ciphertext) + verifier.finalize()

    def _read_ranged(self, first: int, last: int) -> bytes:
        authenticated = self.metadata.suite.authenticated
        start = first - first % BLOCK
        if not authenticated:
            start = max(start - BLOCK, 0)
            end = min(last - last % BLOCK + BLOCK - 1, self.stored_size - 1)
        else:
            end = last
        ciphertext = self._get(f"bytes={start}-{end}")
        plan = ranges.RangePlan(first, last, start, end == self.stored_size - 1, self.size)
        decryptor = ranges.RangeDecryptor(self.content_key, plan, self.metadata.iv or b"")
        plain = decryptor.update(ciphertext) + decryptor.finalize()
        if authenticated:
            with self._turn:
                self._follow(start, ciphertext)
        return plain

    def _follow(self, start: int, ciphertext: bytes) -> None:
        """Feed the running GHASH when reads continue one another from the start."""
        if self._hasher is None or start > self._hashed:
            return
        skip = self._hashed - start
        fresh = ciphertext[skip:]
        if not fresh:
            return
        self._hasher.update(fresh)
        self._hashed += len(fresh)
        if self._hashed >= self.size:
            assert self._layout is not None
            tag = self._get(f"bytes={self.size}-{self.stored_size - 1}")
            self._layout.verify([self._hasher.finalize()], tag)
            self._hasher = None
            self.verified = True

    def _whole(self) -> IO[bytes]:
        if self._spool is None:
            assert self._layout is not None
            config = self.session.config
            spool: IO[bytes] = tempfile.SpooledTemporaryFile(  # noqa: SIM115
                max_size=config.spool_threshold, dir=config.spool_dir
            )
            try:
                ranged.download_verified(
                    self.session,
                    TransferConfig(),
                    self.bucket,
                    self.key,
                    spool,
                    self._layout,
                    self.stored_size,
                    self._extra,
                )
                self._fetched(self.stored_size)
            except BaseException:
                spool.close()
                raise
            self._spool = spool
            self.verified = True
        return self._spool

    def close(self) -> None:
        """Drop the spool of ``whole`` mode (reads after this download it again)."""
        spool, self._spool = self._spool, None
        if spool is not None:
            spool.close()

    def __enter__(self) -> ObjectReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ConfigurationError(f"unknown read mode {mode!r}: choose one of {MODES}")
    return mode
