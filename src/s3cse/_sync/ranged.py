# Generated from s3cse/_async/ranged.py by scripts/unasync.py: edit that file instead.
"""Ranged downloads of an AES-GCM object whose content key is known: the ranges are
fetched and decrypted in parallel into their places in the file, and the tag is checked
over the whole object once every range is in."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from functools import partial
from typing import IO, Any

from ..core.gcm import GcmLayout, PartDecryptor, PartHash
from ..core.multipart import BODY_STEP, Callback, TransferConfig, download_plan
from ..errors import S3CSEError
from ..io.parts import PositionalWriter, TransferStopped
from ..io.running import Runner
from .session import Session


def download_verified(
    session: Session,
    config: TransferConfig,
    bucket: str,
    key: str,
    fileobj: IO[bytes],
    layout: GcmLayout,
    size: int,
    get_args: Mapping[str, Any],
    callback: Callback | None = None,
) -> int:
    """Parallel ranged GETs of an AES-GCM object whose key is known, tag verified."""
    plain_size, plan = download_plan(layout, size, config)
    writer = PositionalWriter(fileobj)
    with Runner(config.max_concurrency) as runner:
        futures = [
            runner.submit(
                download_range,
                session,
                bucket,
                key,
                layout,
                offset,
                length,
                writer,
                callback,
                get_args,
                runner.stopping,
            )
            for offset, length in plan
        ]
        tag_range = f"bytes={plain_size}-{size - 1}"
        read_tag = partial(session.read_body, Range=tag_range, **get_args)
        tag = runner.submit(read_tag, bucket, key, "ranged download")
        hashes = runner.gather(futures)
        stored_tag = (runner.gather([tag]))[0]
    layout.verify(hashes, stored_tag)
    writer.finish(plain_size)
    return plain_size


def download_range(
    session: Session,
    bucket: str,
    key: str,
    layout: GcmLayout,
    offset: int,
    length: int,
    writer: PositionalWriter,
    callback: Callback | None,
    get_args: Mapping[str, Any],
    stopping: threading.Event,
) -> PartHash:
    decryptor = PartDecryptor(layout, offset)
    if length == 0:
        return decryptor.finalize()
    response = session.call(
        "get_object",
        bucket,
        key,
        "ranged download",
        Range=f"bytes={offset}-{offset + length - 1}",
        **get_args,
    )
    position = offset
    stream = response["Body"]
    try:
        while chunk := stream.read(BODY_STEP):
            if stopping.is_set():
                raise TransferStopped
            writer.write_at(position, decryptor.update(chunk))
            position += len(chunk)
            if callback:
                callback(len(chunk))
    finally:
        stream.close()
    if position != offset + length:
        raise S3CSEError(f"ranged download returned {position - offset} of {length} bytes")
    return decryptor.finalize()
