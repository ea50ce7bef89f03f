"""Copying one object for ``cp``: uploaded encrypted; downloaded decrypted and
authenticated (whole before it reaches its destination, or for a stream destination and
an object with an integrity index, chunk by chunk); copied between buckets re-encrypted.
``trees`` copies many."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO, Any

import click

from ..client import EncryptionClient
from ..errors import ConfigurationError, DestinationError, located
from ..io.paths import local_name
from .cat import cat_one
from .clients import KeyOptions
from .objects import S3Url, has_integrity_index
from .options import Sse
from .output import Callback, progress, shows_progress


def upload(
    client: EncryptionClient,
    options: KeyOptions,
    sse: Sse,
    src: str,
    target: S3Url,
    extra: dict[str, Any],
    callback: Callback | None = None,
) -> str:
    stream: IO[bytes]
    if src == "-":
        stream = sys.stdin.buffer
    else:
        try:
            stream = open(src, "rb")  # noqa: SIM115
        except OSError as exc:
            raise ConfigurationError(f"cannot read {src}: {exc.strerror}") from None
    args = {"EncryptionContext": options.context, **extra, **sse.put_args()}
    if callback is not None:
        with stream:
            client.upload_fileobj(
                stream, target.bucket, target.key, Callback=callback, ExtraArgs=args
            )
        return f"upload: {src} to {target}"
    size = None if src == "-" else os.path.getsize(src)
    with stream, progress(f"upload {target}", size, options.quiet) as advance:
        client.upload_fileobj(stream, target.bucket, target.key, Callback=advance, ExtraArgs=args)
    return f"upload: {src} to {target}"


def download(
    client: EncryptionClient, options: KeyOptions, sse: Sse, source: S3Url, dst: str
) -> str:
    get_args = sse.get_args()
    if dst == "-":
        cat_one(client, options, sse, source)
        return ""
    target = Path(dst)
    if target.is_dir() or dst.endswith(os.sep):
        with located(source.bucket, source.key):
            target = target / local_name(source.key)
    into_stdout = _is_stdout(target)
    try:
        size = (
            client.head_object(Bucket=source.bucket, Key=source.key, **get_args)["ContentLength"]
            if shows_progress(options.quiet)
            else None
        )
        with progress(f"download {source}", size, options.quiet) as advance:
            client.download_file(
                source.bucket,
                source.key,
                target,
                Callback=advance,
                EncryptionContext=options.context,
                **get_args,
            )
    except DestinationError:
        raise
    except OSError as exc:
        raise ConfigurationError(f"cannot write {target}: {exc.strerror or exc}") from None
    done = f"download: {source} to {target}"
    if into_stdout:  # the report must not land in the data (``cp URL /dev/stdout``)
        if not options.quiet:
            click.echo(done, err=True)
        return ""
    return done


def _is_stdout(target: Path) -> bool:
    """Whether ``target`` is the file stdout writes to (``/dev/stdout``, say)."""
    try:
        return os.path.samestat(target.stat(), os.fstat(sys.stdout.fileno()))
    except (OSError, ValueError):
        return False


def copy_object(
    reader: EncryptionClient,
    writer: EncryptionClient,
    options: KeyOptions,
    sse: Sse,
    source: S3Url,
    target: S3Url,
    extra: dict[str, Any],
    callback: Callback | None = None,
) -> str:
    source_args = sse.source_args()
    response = reader.get_object(
        Bucket=source.bucket,
        Key=source.key,
        EncryptionContext=options.context,
        **source_args,
    )
    args = {"EncryptionContext": options.context, **extra, **sse.put_args()}
    if has_integrity_index(reader.s3, source, source_args):
        args["IntegrityIndex"] = True  # a re-encrypted copy gets a fresh index too
    with response["Body"] as body:
        writer.upload_fileobj(body, target.bucket, target.key, ExtraArgs=args, Callback=callback)
    return f"copy: {source} to {target}"
