# Generated from s3cse/_async/reading.py by scripts/unasync.py: edit that file instead.
"""Reading an encrypted object through a session: whole (authenticated before it is
handed back, unless delayed authentication is asked for), by range (through the
integrity index whenever the object has one), or streamed into a file.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from typing import IO, Any

from ..core import envelope, integrity, ranges, reads, requests
from ..core.pumps import Decryptor
from ..io.backends import Sink, both, sink_write
from .session import Session
from .streams import DecryptedBody, decrypt_to


def get_object(
    session: Session,
    bucket: str,
    key: str,
    context: Mapping[str, str] | None,
    suffix: str | None,
    kwargs: dict[str, Any],
) -> dict[str, Any]:
    """GetObject, the plaintext in ``Body``; by default authenticated before returning."""
    requests.refuse_part_number(kwargs)
    if "Range" in kwargs:
        return get_range(session, bucket, key, kwargs.pop("Range"), context, suffix, kwargs)
    config = session.config
    response = session.call("get_object", bucket, key, "download", **kwargs)
    stream = response["Body"]
    try:
        md = session.content_metadata(bucket, key, response.get("Metadata", {}), suffix, kwargs)
        decryptor = session.decryptor(md, context)
        if config.delayed_authentication:
            size = envelope.plaintext_size(md, int(response.get("ContentLength") or 0))
            body = DecryptedBody.streaming(stream, decryptor, size, (bucket, key))
        else:
            body = authenticated_body(session, stream, decryptor)
            size = body.content_length
    except BaseException:
        stream.close()
        raise
    if not config.delayed_authentication:
        stream.close()
    return requests.decrypted_response(response, body, size)


def authenticated_body(session: Session, stream: Any, decryptor: Decryptor) -> DecryptedBody:
    """The whole plaintext, authenticated, in a private spool (memory up to
    ``spool_threshold``, then an unnamed temporary file in ``spool_dir``)."""
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(  # noqa: SIM115
        max_size=session.config.spool_threshold, dir=session.config.spool_dir
    )
    try:
        length = decrypt_to(stream, decryptor, spool.write)
    except BaseException:
        spool.close()
        raise
    return DecryptedBody.authenticated(spool, length)


def get_range(
    session: Session,
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
    verified, stale_index = get_verified_range(
        session, bucket, key, requested, header, context, suffix, kwargs
    )
    if verified is not None:
        return verified
    response = session.call(
        "get_object",
        bucket,
        key,
        "ranged download",
        Range=requested.ciphertext_request(authenticated=False),
        **kwargs,
    )
    stream = response["Body"]
    try:
        md = session.content_metadata(bucket, key, response.get("Metadata", {}), suffix, kwargs)
        reads.check_unindexed_range(md, session.config, stale_index)
        content_key = session.unwrap(md, context)
        tail_range = reads.cbc_tail_range(md, reads.content_range(response)[2])
        tail = None
        if tail_range is not None:
            tail = session.read_body(bucket, key, "ranged download", Range=tail_range, **kwargs)
        decryptor, plan = reads.range_decryptor(requested, header, md, content_key, response, tail)
        body = DecryptedBody.streaming(stream, decryptor, plan.last - plan.first + 1, (bucket, key))
    except BaseException:
        stream.close()
        raise
    return requests.ranged_response(response, body, plan.first, plan.last, plan.plaintext_size)


def get_verified_range(
    session: Session,
    bucket: str,
    key: str,
    requested: ranges.ByteRange,
    header: str,
    context: Mapping[str, str] | None,
    suffix: str | None,
    kwargs: dict[str, Any],
) -> tuple[dict[str, Any] | None, bool]:
    """An authenticated range through the object's integrity index; None if it has
    none, or only one of an earlier version of the object (then True: stale).

    The index header, then the object's HEAD (its metadata and size), are checked
    before anything the index says is used; then the touched chunks and their index
    entries are fetched side by side, both pinned by ETag to what was checked.
    """
    sse_c = requests.sse_c_args(kwargs)
    found = session.index_header(bucket, key, sse_c)
    if found is None:
        return None, False
    head = session.call("head_object", bucket, key, "head", **kwargs)
    md = session.content_metadata(bucket, key, head.get("Metadata", {}), suffix, kwargs)
    found, stale = reads.usable_index(found, md)
    if found is None:
        return None, stale
    envelope.check_read_policy(md, session.config)
    content_key = session.unwrap(md, context)
    stored_size = int(head["ContentLength"])
    index_key = reads.open_index(md, content_key, found, stored_size)
    plan = reads.plan_indexed_range(requested, header, stored_size)
    index_etag = found.etag
    entries, response = both(
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
        body = DecryptedBody.streaming(stream, verifier, plan.last - plan.first + 1, (bucket, key))
    except BaseException:
        stream.close()
        raise
    return requests.ranged_response(
        response, body, plan.first, plan.last, plan.plaintext_size
    ), False


def stream_download(
    session: Session, bucket: str, key: str, fileobj: Sink, kwargs: dict[str, Any]
) -> int:
    """One GET, decrypted as it arrives into ``fileobj`` (which holds unauthenticated
    bytes if this raises: discard it)."""
    context = kwargs.pop("EncryptionContext", None)
    suffix = kwargs.pop("InstructionFileSuffix", None)
    response = session.call("get_object", bucket, key, "download", **kwargs)
    stream = response["Body"]
    try:
        md = session.content_metadata(bucket, key, response.get("Metadata", {}), suffix, kwargs)
        decryptor = session.decryptor(md, context)
        return decrypt_to(stream, decryptor, sink_write(fileobj))
    finally:
        stream.close()


def head_object(session: Session, bucket: str, key: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """HeadObject, with ``ContentLength`` the plaintext size where it is known."""
    suffix = kwargs.pop("InstructionFileSuffix", None)
    response = session.call("head_object", bucket, key, "head", **kwargs)
    md = session.content_metadata(bucket, key, response.get("Metadata", {}), suffix, kwargs)
    return requests.head_response(response, md)
