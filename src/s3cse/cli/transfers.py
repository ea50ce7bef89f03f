"""Copying one object for ``cp``: uploaded encrypted; downloaded decrypted and
authenticated (whole before it reaches its destination, or for a stream destination and
an object with an integrity index, chunk by chunk); copied between buckets re-encrypted.
``trees`` copies many."""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import click

from ..client import EncryptionClient
from ..core import multipart
from ..core.multipart import TransferConfig
from ..errors import ConfigurationError, DestinationError, TooManyPartsError, located
from ..io.paths import local_name
from .attributes import Attributes
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
    attributes: Attributes,
    callback: Callback | None = None,
    expected_size: int | None = None,
) -> str:
    """Encrypt the file (or stdin, ``-``) ``src`` into ``target``, with its attributes.
    ``expected_size``: how large stdin will be, so that its parts are cut large enough."""
    stream: IO[bytes]
    if src == "-":
        stream = sys.stdin.buffer
    else:
        try:
            stream = open(src, "rb")  # noqa: SIM115
        except OSError as exc:
            raise ConfigurationError(f"cannot read {src}: {exc.strerror}") from None
    args = {"EncryptionContext": options.context, **attributes.for_upload(src), **sse.put_args()}
    config = stream_config(expected_size)
    with _parts_outgrown(expected_size, config, options.integrity_index):
        if callback is not None:
            with stream:
                client.upload_fileobj(
                    stream,
                    target.bucket,
                    target.key,
                    Callback=callback,
                    ExtraArgs=args,
                    Config=config,
                )
            return f"upload: {src} to {target}"
        size = None if src == "-" else os.path.getsize(src)
        with stream, progress(f"upload {target}", size, options.quiet) as advance:
            client.upload_fileobj(
                stream, target.bucket, target.key, Callback=advance, ExtraArgs=args, Config=config
            )
    return f"upload: {src} to {target}"


def stream_config(expected_size: int | None) -> TransferConfig:
    """The transfer configuration of an upload: parts large enough for
    ``expected_size`` bytes to fit S3's 10,000 (the default ones hold 80 GB)."""
    config = TransferConfig()
    if expected_size is None:
        return config
    return TransferConfig(multipart_chunksize=multipart.part_size_for(expected_size, config))


@contextlib.contextmanager
def _parts_outgrown(
    expected_size: int | None, config: TransferConfig, indexed: bool
) -> Iterator[None]:
    """A stream that outgrew its parts (the upload is aborted by then) says what to pass."""
    try:
        yield
    except TooManyPartsError:
        part = multipart.upload_part_size(None, config, indexed)
        room = f"{multipart.MAX_PARTS} parts of {part} bytes ({multipart.MAX_PARTS * part} bytes)"
        said = "" if expected_size is None else f" (--expected-size said {expected_size})"
        raise TooManyPartsError(
            f"the stream is larger than {room}{said}: the upload was aborted, nothing was stored",
            hint="Pass --expected-size BYTES with at least the stream's size, so that its "
            "parts are cut large enough",
        ) from None


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
    attributes: Attributes,
    callback: Callback | None = None,
) -> str:
    """Decrypt ``source`` and re-encrypt it into ``target`` with ``writer`` (under the
    ``--to-`` key and context when given), keeping or replacing its attributes."""
    source_args = sse.source_args()
    response = reader.get_object(
        Bucket=source.bucket,
        Key=source.key,
        EncryptionContext=options.context,
        **source_args,
    )
    with response["Body"] as body:
        args = {
            "EncryptionContext": options.write_context,
            **attributes.for_copy(reader.s3, source, response),
            **sse.put_args(),
        }
        if has_integrity_index(reader.s3, source, source_args):
            args["IntegrityIndex"] = True  # a re-encrypted copy gets a fresh index too
        writer.upload_fileobj(body, target.bucket, target.key, ExtraArgs=args, Callback=callback)
    return f"copy: {source} to {target}"
