"""How the clients read an encrypted object, without doing any I/O: its encryption
metadata (in the object's or in its instruction file), and ranged reads, planned and
checked, with or without an integrity index.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import envelope, integrity, metadata, ranges, sidecars
from .ciphers import ContentKey, GcmDecryptor
from .config import CryptoConfig
from .errors import (
    ConfigurationError,
    InstructionFileError,
    NotEncryptedError,
    S3CSEError,
)
from .gcm import BLOCK, GcmLayout
from .indexed import ENTRY_WINDOW, IndexedStream
from .metadata import ContentMetadata


def object_metadata(response_metadata: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in response_metadata.items()}


def parse_object_metadata(object_md: Mapping[str, str]) -> ContentMetadata | None:
    """The object's encryption metadata; None when it lives in an instruction file."""
    if metadata.needs_instruction_file(object_md):
        return None
    return metadata.parse(object_md)


def instruction_file_read_limit(response: Mapping[str, Any]) -> int:
    """How many bytes of an instruction file's GET to read: refused outright when S3
    announces more than an instruction file can hold, else one byte over the cap (so a
    body longer than announced is caught by the parser, not read whole)."""
    length = response.get("ContentLength")
    if length is not None and int(length) > metadata.MAX_INSTRUCTION_FILE_SIZE:
        raise metadata.instruction_file_too_large(int(length))
    return metadata.MAX_INSTRUCTION_FILE_SIZE + 1


def instruction_file_names(key: str, suffix: str, object_md: Mapping[str, str]) -> list[str]:
    """Where the object's instruction file may be, in the order to look: its name, and
    for an object without any encryption metadata of its own, also the name the .NET
    SDK's first client gave it (``metadata.DOTNET_LEGACY_SUFFIX``). A file found there
    reads as the V1 object it is, which only a reader allowing legacy modes decrypts."""
    names = [key + suffix]
    if suffix == metadata.DEFAULT_INSTRUCTION_SUFFIX and not metadata.is_encrypted(object_md):
        names.append(key + metadata.DOTNET_LEGACY_SUFFIX)
    return names


def parse_with_instruction_file(object_md: Mapping[str, str], body: bytes) -> ContentMetadata:
    merged = metadata.merge_instruction_file(object_md, metadata.parse_instruction_file(body))
    return metadata.parse(merged, instruction_file=True)


def missing_instruction_file(
    object_md: Mapping[str, str], bucket: str, key: str, instruction_key: str
) -> S3CSEError:
    """Why an object whose instruction file does not exist cannot be read."""
    if metadata.is_encrypted(object_md):
        return InstructionFileError(
            f"the object's metadata points to instruction file {instruction_key!r}, "
            "which does not exist",
            bucket=bucket,
            key=key,
        )
    return NotEncryptedError(
        "the object has no encryption metadata and no instruction file",
        bucket=bucket,
        key=key,
    )


def content_range(response: Mapping[str, Any]) -> tuple[int, int, int]:
    """First byte, last byte and total size from S3's ``Content-Range`` header."""
    text = str(response.get("ContentRange", ""))
    try:
        span, total = text.split(" ", 1)[1].split("/")
        first, last = span.split("-")
        return int(first), int(last), int(total)
    except (IndexError, ValueError):
        length = int(response.get("ContentLength") or 0)
        return 0, length - 1, length


def check_unindexed_range(
    md: ContentMetadata, config: CryptoConfig, stale_index: bool = False
) -> None:
    """A plain range of a GCM object cannot be authenticated: refused unless allowed.
    ``stale_index``: the object has an index, but of an earlier version of it."""
    envelope.check_read_policy(md, config)
    if md.suite.authenticated and not config.unauthenticated_ranges:
        if stale_index:
            raise integrity.StaleIndexError(
                "the integrity index belongs to an earlier version of the object (stale): "
                "it was not written for this object, and a byte range of an AES-GCM "
                "object cannot be authenticated without one"
            )
        raise ConfigurationError(
            "a byte range of an AES-GCM object cannot be authenticated (the tag "
            "covers the whole object) and this object has no integrity index",
            hint="Read the whole object, upload it with IntegrityIndex=True, or set "
            "unauthenticated_ranges=True if you accept unauthenticated bytes",
        )


def cbc_tail_range(md: ContentMetadata, stored_size: int) -> str | None:
    """Legacy CBC: the Range of the blocks that tell its size (from their padding).

    ``x-amz-unencrypted-content-length`` is not used for this: it is unauthenticated,
    and a lying one would cut a range short or stretch it past the real end.
    """
    if md.suite.authenticated:
        return None
    return f"bytes=-{min(stored_size, 2 * BLOCK)}"


def range_decryptor(
    requested: ranges.ByteRange,
    header: str,
    md: ContentMetadata,
    content_key: ContentKey,
    response: Mapping[str, Any],
    cbc_tail: bytes | None = None,
) -> tuple[ranges.RangeDecryptor, ranges.RangePlan]:
    """Decrypts the ciphertext S3 returned for ``requested`` (unauthenticated)."""
    first, last, total = content_range(response)
    cbc_size = None
    if cbc_tail is not None:
        cbc_size = ranges.cbc_plaintext_size(content_key, total, cbc_tail, md.iv or b"")
    plan = ranges.plan(requested, content_key, first, last, total, header, cbc_size)
    return ranges.RangeDecryptor(content_key, plan, md.iv or b""), plan


STREAM_HEADER_SPAN = integrity.HEADER_SIZE + ENTRY_WINDOW * integrity.MAC_LENGTH
"""What a streamed whole read fetches of an index at first: the header and a window."""


def sidecar_header(response: Mapping[str, Any], data: bytes) -> integrity.SidecarHeader | None:
    """The start of an index as S3 returned it (its header, maybe entries after it),
    with the sidecar's size; None when the object under the index's name is a user's
    own (``sidecars``)."""
    if (
        sidecars.kind_of(sidecars.INDEX_SUFFIX, response.get("Metadata", {}), data)
        is sidecars.Kind.USER_OBJECT
    ):
        return None
    return integrity.SidecarHeader(data, content_range(response)[2], str(response["ETag"]))


def usable_index(
    found: integrity.SidecarHeader | None, md: ContentMetadata
) -> tuple[integrity.SidecarHeader | None, bool]:
    """The index a ranged read goes through, and whether a stale one was set aside
    (see ``SidecarHeader.is_stale_for``: stale means no index, never a weaker check)."""
    if found is not None and found.is_stale_for(md):
        return None, True
    return found, False


def open_index(
    md: ContentMetadata, content_key: ContentKey, found: integrity.SidecarHeader, stored_size: int
) -> integrity.IndexKey:
    """The key of an object's index, once its header verifies and the object's and the
    sidecar's sizes agree with it; before that nothing the sidecar says is used."""
    if not md.suite.authenticated:
        raise integrity.IndexMismatchError("an integrity index beside a non-GCM object")
    index_key = integrity.IndexKey.for_object(content_key, md)
    index_key.check_sizes(found, stored_size, md.suite.tag_length)
    return index_key


def indexed_stream(
    found: integrity.SidecarHeader | None,
    md: ContentMetadata,
    content_key: ContentKey,
    stored_size: int,
) -> IndexedStream | None:
    """A whole object's plaintext released chunk by chunk through its index; None when
    it has no index that can vouch for this very object: none, a user's object under the
    index's name, one of an earlier version (stale), or one whose header or sizes do not
    verify. The whole object is then authenticated before any of it is released, as
    without an index: nothing the index says is used unless its header verified, and a
    bad index costs its owner the early bytes, never a check."""
    found, _ = usable_index(found, md)
    if found is None or not md.suite.authenticated:
        return None
    try:
        index_key = open_index(md, content_key, found, stored_size)
    except integrity.IndexMismatchError:
        return None
    stream = IndexedStream(index_key, GcmDecryptor(content_key), stored_size, md.suite.tag_length)
    stream.start_with(found.data[integrity.HEADER_SIZE :])
    return stream


@dataclass(frozen=True)
class IndexedRange:
    """A range read through an integrity index: which chunks, entries and bytes to fetch."""

    first: int
    last: int
    plaintext_size: int
    chunk_first: int
    chunk_last: int

    @property
    def stored_size(self) -> int:
        return self.plaintext_size + BLOCK  # GCM only: the tag

    @property
    def object_range(self) -> str:
        start = self.chunk_first * integrity.CHUNK_SIZE
        end = min((self.chunk_last + 1) * integrity.CHUNK_SIZE, self.plaintext_size) - 1
        return f"bytes={start}-{end}"

    @property
    def entries_range(self) -> str:
        return integrity.entries_range(self.chunk_first, self.chunk_last)


def plan_indexed_range(requested: ranges.ByteRange, header: str, stored_size: int) -> IndexedRange:
    """Plan a range from the stored size an authenticated index header vouched for."""
    plain_size = stored_size - BLOCK  # GCM only
    first, last = ranges.resolve(requested, plain_size, header)
    return IndexedRange(
        first, last, plain_size, first // integrity.CHUNK_SIZE, last // integrity.CHUNK_SIZE
    )


def verified_range(
    plan: IndexedRange,
    index_key: integrity.IndexKey,
    content_key: ContentKey,
    entries: bytes,
    response: Mapping[str, Any],
) -> integrity.VerifiedRange:
    """Checks each fetched chunk against its index entry before releasing its plaintext."""
    if content_range(response)[2] != plan.stored_size:
        raise integrity.IndexMismatchError(
            "the object's size differs from the size its integrity index vouches for"
        )
    macs = integrity.split_entries(entries, plan.chunk_first, plan.chunk_last)
    return integrity.VerifiedRange(
        index_key,
        macs,
        plan.chunk_first,
        GcmLayout(content_key).ctr(plan.chunk_first * integrity.CHUNK_SIZE),
        plan.first,
        plan.last,
        plan.plaintext_size,
    )


@dataclass(frozen=True)
class ObjectMaterials:
    """What opening one version (``etag``) of an object established, to open it again
    without a HEAD or a key unwrap. Holds the content key: keep it no longer than the
    filesystem or client it serves."""

    etag: str
    stored_size: int
    size: int
    mode: str
    metadata: ContentMetadata
    content_key: ContentKey = field(repr=False)
    index_key: integrity.IndexKey | None = field(repr=False)
    index_args: Mapping[str, Any]
    entries: bytes
    """Index entries from chunk 0 as fetched with the header (verified chunk by chunk
    when used, like entries fetched later)."""
    stale_index: bool
