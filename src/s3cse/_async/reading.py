"""Reading an encrypted object through a session: whole (authenticated before it is
handed back, unless delayed authentication is asked for), by range (through the
integrity index whenever the object has one), or streamed into a file.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO, Any

from ..core import envelope, integrity, prefetch, ranges, reads, requests
from ..core.ciphers import content_decryptor
from ..core.pumps import Decryptor
from ..errors import S3CSEError
from ..io.backends import AsyncSink, async_both, async_sink_write
from .session import AsyncSession
from .streams import AsyncDecryptedBody, decrypt_to, read_full


async def get_object(
    session: AsyncSession,
    bucket: str,
    key: str,
    context: Mapping[str, str] | None,
    suffix: str | None,
    kwargs: dict[str, Any],
    indexed_streaming: bool = False,
) -> dict[str, Any]:
    """GetObject, the plaintext in ``Body``; by default authenticated before returning.
    ``indexed_streaming``: an object with an integrity index streams instead, each chunk
    released once it verifies (its index header is fetched beside the object)."""
    requests.refuse_part_number(kwargs)
    if "Range" in kwargs:
        return await get_range(session, bucket, key, kwargs.pop("Range"), context, suffix, kwargs)
    if not indexed_streaming:
        response = await session.call("get_object", bucket, key, "download", **kwargs)
        return await decrypted_get(session, bucket, key, context, suffix, kwargs, response)
    found, response = await async_both(
        lambda: streaming_index(session, bucket, key, kwargs),
        lambda: session.call("get_object", bucket, key, "download", **kwargs),
    )
    return await decrypted_get(session, bucket, key, context, suffix, kwargs, response, found)


async def streaming_index(
    session: AsyncSession, bucket: str, key: str, kwargs: Mapping[str, Any]
) -> integrity.SidecarHeader | None:
    """The index header a whole read may stream through, unverified, with the first
    window of entries after it (one request, their use waits for the header to verify);
    None when there is none or it cannot be read (emptied, refused): such a read then
    authenticates the whole object first, as any read without an index does."""
    try:
        return await session.index_header(
            bucket, key, requests.sse_c_args(kwargs), reads.STREAM_HEADER_SPAN
        )
    except S3CSEError:
        return None


async def decrypted_get(
    session: AsyncSession,
    bucket: str,
    key: str,
    context: Mapping[str, str] | None,
    suffix: str | None,
    kwargs: Mapping[str, Any],
    response: dict[str, Any],
    found: integrity.SidecarHeader | None = None,
) -> dict[str, Any]:
    """A whole object's GetObject answer with the plaintext in ``Body``: released chunk
    by chunk through the index ``found`` when it vouches for this object (see
    ``reads.indexed_stream``), else authenticated whole before this returns, or streamed
    unauthenticated under delayed authentication."""
    config = session.config
    stream = response["Body"]
    try:
        md = await session.content_metadata(
            bucket, key, response.get("Metadata", {}), suffix, kwargs
        )
        content_key = await session.unwrap(md, context)
        stored_size = int(response.get("ContentLength") or 0)
        indexed = reads.indexed_stream(found, md, content_key, stored_size)
        streams = indexed is not None or config.delayed_authentication
        body: AsyncDecryptedBody
        if indexed is not None:
            assert found is not None
            fetch = entries_reader(session, bucket, key, found.etag, kwargs)
            body = AsyncDecryptedBody.indexed(stream, indexed, fetch, (bucket, key))
            size: int | None = indexed.plaintext_size
        elif config.delayed_authentication:
            size = envelope.plaintext_size(md, stored_size)
            body = AsyncDecryptedBody.streaming(
                stream, content_decryptor(content_key), size, (bucket, key)
            )
        else:
            body = await authenticated_body(session, stream, content_decryptor(content_key))
            size = body.content_length
    except BaseException:
        stream.close()
        raise
    if not streams:
        stream.close()
    return requests.decrypted_response(
        response, body, size, requests.read_encryption(md, content_key)
    )


def entries_reader(
    session: AsyncSession, bucket: str, key: str, etag: str, kwargs: Mapping[str, Any]
) -> Callable[[str], Any]:
    """Reads a Range of the index entries, pinned by ETag to the sidecar whose header
    verified."""
    args = {**requests.sse_c_args(kwargs), "IfMatch": etag}

    async def read(header: str) -> bytes:
        return await session.read_body(
            bucket, key + integrity.SUFFIX, "integrity index read", Range=header, **args
        )

    return read


async def authenticated_body(
    session: AsyncSession, stream: Any, decryptor: Decryptor
) -> AsyncDecryptedBody:
    """The whole plaintext, authenticated, in a private spool (memory up to
    ``spool_threshold``, then an unnamed temporary file in ``spool_dir``)."""
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(  # noqa: SIM115
        max_size=session.config.spool_threshold, dir=session.config.spool_dir
    )
    try:
        length = await decrypt_to(stream, decryptor, spool.write)
    except BaseException:
        spool.close()
        raise
    return AsyncDecryptedBody.authenticated(spool, length)


async def get_range(
    session: AsyncSession,
    bucket: str,
    key: str,
    header: str,
    context: Mapping[str, str] | None,
    suffix: str | None,
    kwargs: dict[str, Any],
) -> dict[str, Any]:
    """A byte range: through the integrity index whenever the object has one (even
    with ``unauthenticated_ranges``), else fetched from its enclosing cipher blocks and
    decrypted with CTR (GCM) or from the previous block (CBC), unauthenticated: see
    ``ranges``."""
    requested = ranges.ByteRange.parse(header)
    read = RangeRead(bucket, key, requested, header, context, suffix, kwargs)
    verified, stale_index, prefetched = await get_verified_range(session, read)
    if verified is not None:
        return verified
    response = prefetched or await unindexed_get(session, read)
    stream = response["Body"]
    try:
        md = await session.content_metadata(
            bucket, key, response.get("Metadata", {}), suffix, kwargs
        )
        reads.check_unindexed_range(md, session.config, stale_index)
        if prefetched is not None and not md.suite.authenticated:
            # fetched for an index, by chunks: CBC needs the block before the range
            stream.close()
            response = await unindexed_get(session, read)
            stream = response["Body"]
        content_key = await session.unwrap(md, context)
        tail_range = reads.cbc_tail_range(md, reads.content_range(response)[2])
        tail = None
        if tail_range is not None:
            tail = await session.read_body(
                bucket, key, "ranged download", Range=tail_range, **kwargs
            )
        decryptor, plan = reads.range_decryptor(requested, header, md, content_key, response, tail)
        body = AsyncDecryptedBody.streaming(
            stream, decryptor, plan.last - plan.first + 1, (bucket, key)
        )
    except BaseException:
        stream.close()
        raise
    return requests.ranged_response(response, body, plan, md, content_key)


async def unindexed_get(session: AsyncSession, read: RangeRead) -> dict[str, Any]:
    """The ciphertext of a range read without an index: its enclosing cipher blocks."""
    return await session.call(
        "get_object",
        read.bucket,
        read.key,
        "ranged download",
        Range=read.requested.ciphertext_request(authenticated=False),
        **read.kwargs,
    )


@dataclass(frozen=True)
class RangeRead:
    """What a ranged get_object asked for."""

    bucket: str
    key: str
    requested: ranges.ByteRange
    header: str
    """The Range as given (messages quote it)."""
    context: Mapping[str, str] | None
    suffix: str | None
    """The instruction file's suffix."""
    kwargs: dict[str, Any]


async def get_verified_range(
    session: AsyncSession, read: RangeRead
) -> tuple[dict[str, Any] | None, bool, dict[str, Any] | None]:
    """An authenticated range through the object's integrity index; None if it has
    none, or only one of an earlier version of the object (then True: stale), with
    the object's answer to the prefetch if it came (it holds the range: an unindexed
    read may use it).

    One round trip (``core.prefetch``): the index header, the index entries and the
    object's chunks are requested at once. The header is checked against the object's
    metadata and size, which come with its chunks, before anything the index says is
    used; then the entries and chunks the verified plan needs are taken from what
    arrived (or, if it does not hold them, fetched pinned by ETag), and each chunk is
    released only once its entry verifies.
    """
    bucket, key, kwargs = read.bucket, read.key, read.kwargs
    ahead = prefetch.prefetch(read.requested)
    if ahead is None:
        return (*await sequential_verified_range(session, read), None)
    sse_c = requests.sse_c_args(kwargs)
    found, entries, response = await prefetch_all(session, read, ahead)
    opened = [a["Body"] for a in (entries, response) if isinstance(a, dict)]
    try:
        if isinstance(found, S3CSEError):
            raise found
        if found is None:
            return None, False, handed(response, opened)
        if isinstance(response, S3CSEError):  # its own errors, in their own order
            return (*await sequential_verified_range(session, read), None)
        md = await session.content_metadata(
            bucket, key, response.get("Metadata", {}), read.suffix, kwargs
        )
        found, stale = reads.usable_index(found, md)
        if found is None:
            return None, stale, handed(response, opened)
        envelope.check_read_policy(md, session.config)
        content_key = await session.unwrap(md, read.context)
        stored_size = reads.content_range(response)[2]
        index_key = reads.open_index(md, content_key, found, stored_size)
        plan = reads.plan_indexed_range(read.requested, read.header, stored_size)
        macs = await entries_of(session, bucket, key, plan, found, entries, sse_c)
        span = prefetch.object_span(plan)
        if not prefetch.holds(reads.content_range(response), span, stored_size):
            response = await session.call(
                "get_object",
                bucket,
                key,
                "ranged download",
                **{**kwargs, "Range": plan.object_range, "IfMatch": response["ETag"]},
            )
            opened.append(response["Body"])
        verifier = prefetch.Window(
            reads.verified_range(plan, index_key, content_key, macs, response),
            reads.content_range(response)[0],
            span,
        )
        body = AsyncDecryptedBody.streaming(
            response["Body"], verifier, plan.last - plan.first + 1, (bucket, key)
        )
        opened.remove(response["Body"])
    finally:
        for stream in opened:
            stream.close()
    verified = requests.ranged_response(response, body, plan, md, content_key)
    return verified, False, None


def handed(response: Any, opened: list[Any]) -> dict[str, Any] | None:
    """``response`` taken out of the streams to close, when it is an answer."""
    if not isinstance(response, dict):
        return None
    opened.remove(response["Body"])
    return response


async def attempt(fetch: Callable[[], Any]) -> Any:
    """``fetch()``'s answer, or the ``S3CSEError`` it raised: requests sent together
    are all awaited, so that none is left unclosed when another fails."""
    try:
        return await fetch()
    except S3CSEError as exc:
        return exc


async def prefetch_all(
    session: AsyncSession, read: RangeRead, ahead: prefetch.Prefetch
) -> tuple[Any, Any, Any]:
    """The prefetch's requests, all sent before any answer is read: the start of the
    index, its entries when they need a request of their own (else None), the object's
    chunks. Each is its answer or the ``S3CSEError`` it met."""
    sse_c = requests.sse_c_args(read.kwargs)

    async def index_start() -> Any:
        return await attempt(
            lambda: session.index_header(read.bucket, read.key, sse_c, ahead.header_span)
        )

    async def chunks() -> Any:
        return await attempt(
            lambda: session.call(
                "get_object",
                read.bucket,
                read.key,
                "ranged download",
                **{**read.kwargs, "Range": ahead.object_range},
            )
        )

    async def entries() -> Any:
        return await attempt(
            lambda: session.call(
                "get_object",
                read.bucket,
                read.key + integrity.SUFFIX,
                "integrity index read",
                Range=ahead.entries_range,
                **sse_c,
            )
        )

    if ahead.entries_range is None:
        found, response = await async_both(index_start, chunks)
        return found, None, response
    found, (listed, response) = await async_both(index_start, lambda: async_both(entries, chunks))
    return found, listed, response


async def entries_of(
    session: AsyncSession,
    bucket: str,
    key: str,
    plan: reads.IndexedRange,
    found: integrity.SidecarHeader,
    prefetched: dict[str, Any] | S3CSEError | None,
    sse_c: Mapping[str, Any],
) -> bytes:
    """The index entries of a verified plan: read with its header, or from the
    prefetched answer when it is of the sidecar whose header verified and holds them
    (read no further than they end), else fetched pinned to that sidecar."""
    span = prefetch.entries_span(plan)
    if len(found.data) > span[1]:
        return found.data[span[0] : span[1] + 1]
    if (
        isinstance(prefetched, dict)
        and prefetched.get("ETag") == found.etag
        and prefetch.holds(reads.content_range(prefetched), span, found.sidecar_size)
    ):
        start = reads.content_range(prefetched)[0]
        data = await read_full(prefetched["Body"], span[1] + 1 - start)
        return data[span[0] - start :]
    return await session.read_body(
        bucket,
        key + integrity.SUFFIX,
        "integrity index read",
        Range=plan.entries_range,
        IfMatch=found.etag,
        **sse_c,
    )


async def sequential_verified_range(
    session: AsyncSession, read: RangeRead
) -> tuple[dict[str, Any] | None, bool]:
    """``get_verified_range`` in two round trips, for what a prefetch cannot plan or
    did not get: the index header, then the object's HEAD (its metadata and size), are
    checked before anything the index says is used; then the touched chunks and their
    index entries are fetched side by side, both pinned by ETag to what was checked."""
    bucket, key, kwargs = read.bucket, read.key, read.kwargs
    sse_c = requests.sse_c_args(kwargs)
    found = await session.index_header(bucket, key, sse_c)
    if found is None:
        return None, False
    head = await session.call("head_object", bucket, key, "head", **kwargs)
    md = await session.content_metadata(bucket, key, head.get("Metadata", {}), read.suffix, kwargs)
    found, stale = reads.usable_index(found, md)
    if found is None:
        return None, stale
    envelope.check_read_policy(md, session.config)
    content_key = await session.unwrap(md, read.context)
    stored_size = int(head["ContentLength"])
    index_key = reads.open_index(md, content_key, found, stored_size)
    plan = reads.plan_indexed_range(read.requested, read.header, stored_size)
    index_etag = found.etag
    entries, response = await async_both(
        lambda: session.read_body(
            bucket,
            key + integrity.SUFFIX,
            "integrity index read",
            Range=plan.entries_range,
            IfMatch=index_etag,
            **sse_c,
        ),
        lambda: session.call(
            "get_object",
            bucket,
            key,
            "ranged download",
            **{**kwargs, "Range": plan.object_range, "IfMatch": head["ETag"]},
        ),
    )
    stream = response["Body"]
    try:
        verifier = reads.verified_range(plan, index_key, content_key, entries, response)
        body = AsyncDecryptedBody.streaming(
            stream, verifier, plan.last - plan.first + 1, (bucket, key)
        )
    except BaseException:
        stream.close()
        raise
    return requests.ranged_response(response, body, plan, md, content_key), False


async def stream_download(
    session: AsyncSession, bucket: str, key: str, fileobj: AsyncSink, kwargs: dict[str, Any]
) -> int:
    """One GET, decrypted as it arrives into ``fileobj`` (which holds unauthenticated
    bytes if this raises: discard it)."""
    context = kwargs.pop("EncryptionContext", None)
    suffix = kwargs.pop("InstructionFileSuffix", None)
    response = await session.call("get_object", bucket, key, "download", **kwargs)
    stream = response["Body"]
    try:
        md = await session.content_metadata(
            bucket, key, response.get("Metadata", {}), suffix, kwargs
        )
        decryptor = await session.decryptor(md, context)
        return await decrypt_to(stream, decryptor, async_sink_write(fileobj))
    finally:
        stream.close()


async def head_object(
    session: AsyncSession, bucket: str, key: str, kwargs: dict[str, Any]
) -> dict[str, Any]:
    """HeadObject, with ``ContentLength`` the plaintext size where it is known."""
    suffix = kwargs.pop("InstructionFileSuffix", None)
    response = await session.call("head_object", bucket, key, "head", **kwargs)
    md = await session.content_metadata(bucket, key, response.get("Metadata", {}), suffix, kwargs)
    return requests.head_response(response, md)
