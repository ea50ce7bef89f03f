"""Copying one object for ``cp``: uploaded encrypted; downloaded decrypted and
authenticated whole before it reaches its destination; copied between buckets
re-encrypted. ``trees`` copies many."""

from __future__ import annotations

import os
import stat
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
    client: EncryptionClient,
    options: KeyOptions,
    sse: Sse,
    source: S3Url,
    dst: str,
) -> str:
    """Decrypt one object into ``dst`` (a file, a directory to put it in, a device, or
    - for stdout), creating missing parent directories, as ``aws s3 cp`` does. A file
    takes the object's LastModified as its modification time (for ``sync``)."""
    get_args = sse.get_args()
    if dst == "-":
        cat_one(client, options, sse, source)
        return ""
    target = local_target(source, dst)
    into_stdout = _is_stdout(target)
    try:
        response = client.head_object(Bucket=source.bucket, Key=source.key, **get_args)
        size = response["ContentLength"] if shows_progress(options.quiet) else None
        target.parent.mkdir(parents=True, exist_ok=True)
        with progress(f"download {source}", size, options.quiet) as advance:
            client.download_file(
                source.bucket,
                source.key,
                target,
                Callback=advance,
                EncryptionContext=options.context,
                **get_args,
            )
        modified = response.get("LastModified")
        stamp_mtime(target, modified.timestamp() if modified else None)
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


def local_target(source: S3Url, dst: str) -> Path:
    """The file a download of ``source`` writes: ``dst``, or in it if it is a directory."""
    target = Path(dst)
    if target.is_dir() or dst.endswith(os.sep):
        with located(source.bucket, source.key):
            target = target / local_name(source.key)
    return target


def stamp_mtime(path: Path, seconds: float | None) -> None:
    """Give a downloaded regular file the object's LastModified as its access and
    modification times, as ``aws s3`` does, so that ``sync`` finds it up to date; a
    device, FIFO or stdout is left alone."""
    if seconds is None or not stat.S_ISREG(os.stat(path).st_mode):
        return
    os.utime(path, (seconds, seconds))


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
