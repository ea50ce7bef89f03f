"""``s3cse cp``: copy files and objects, encrypting on upload and decrypting on
download; ``--recursive`` copies directories and prefixes (``cp_tree``)."""

from __future__ import annotations

from typing import Any

import click

from ..errors import ConfigurationError
from .attributes import Attributes
from .clients import KeyOptions
from .filters import FilteredCommand
from .objects import S3Url, prefix_hint, refuse_prefix, s3_target
from .options import (
    Sse,
    copying_options,
    sse_c_hints,
)
from .output import display_key
from .transfers import copy_object, download, local_target, upload
from .trees import copy_recursive


@click.command(cls=FilteredCommand)
@click.argument("src")
@click.argument("dst")
@click.option(
    "--recursive", "-r", is_flag=True, help="Copy a directory or everything under an s3:// prefix."
)
@click.option(
    "--expected-size",
    type=click.IntRange(min=0),
    metavar="BYTES",
    help="Uploads from stdin (-): about how many bytes will come, so that the parts are "
    "cut large enough (S3 takes 10,000; the default parts hold 80 GB).",
)
@copying_options(
    verb="transferred",
    dryrun_help="Print what would be copied; copy nothing (needs no key).",
)
def cp(
    src: str,
    dst: str,
    recursive: bool,
    cache_data_keys: bool,
    concurrency: int,
    expected_size: int | None,
    follow_symlinks: bool,
    dry_run: bool,
    quiet: bool,
    **kwargs: Any,
) -> None:
    """Copy SRC to DST, encrypting on upload and decrypting on download.

    SRC and DST are local paths, - (stdin/stdout), or s3://BUCKET/KEY; an s3:// to
    s3:// copy decrypts and re-encrypts (with a fresh data key, under the given key). A
    download reaches DST only after the whole object has been authenticated: a file is
    written beside DST and renamed over it, a device, FIFO or stdout gets it from a
    private temporary spool; on any failure or interrupt nothing reaches DST. An object
    with an integrity index streams to a device, FIFO or stdout instead, each 256 KiB
    chunk once it verifies: a failure leaves there exactly the chunks that verified.

    With --recursive, SRC and DST are a directory and an s3://BUCKET/PREFIX (either way),
    or two prefixes; instruction files and integrity indexes travel with their objects.
    An upload follows symbolic links (unless --no-follow-symlinks) and skips, with a
    warning on stderr, FIFOs, sockets, devices, dangling links and links that loop
    back to a directory above them; it then exits with 2 once the rest is copied.

    Objects are written with the attributes given (--content-type, --metadata, --tagging
    ...; an upload's Content-Type is guessed from the file name unless given). An s3://
    to s3:// copy keeps the source's (--metadata-directive COPY) and may be written under
    another key (--to-kms-key-id, --to-aes-key-file, --to-rsa-key-file).
    """
    options = KeyOptions.from_options(kwargs)
    options.quiet = quiet
    sse = Sse.from_options(kwargs)
    extra = Attributes.from_options(kwargs)
    source, target = S3Url.parse(src), S3Url.parse(dst)
    options.refuse_retarget_with_local(source, target)
    if expected_size is not None and src != "-":
        raise ConfigurationError("--expected-size applies to an upload from stdin (SRC -)")
    if recursive:
        copy_recursive(
            options,
            sse,
            src,
            dst,
            extra=extra,
            cache=cache_data_keys,
            concurrency=concurrency,
            quiet=quiet,
            follow_symlinks=follow_symlinks,
            dry_run=dry_run,
        )
        return
    if source is None and target is None:
        raise ConfigurationError("one of SRC and DST must be s3://BUCKET/KEY")
    if source is not None:
        refuse_prefix(source, "copy")
    if dry_run:
        if not quiet:
            click.echo(display_key(dry_run_line(source, target, src, dst)))
        return
    with sse_c_hints(sse):
        if source is None and target is not None:
            target = s3_target(target, src)
            done = upload(
                options.client(writing=True, cache=cache_data_keys),
                options,
                sse,
                src,
                target,
                extra,
                expected_size=expected_size,
            )
        elif source is not None and target is None:
            reader = options.client(writing=False, cache=cache_data_keys)
            with prefix_hint(reader.s3, source, "copy"):
                done = download(reader, options, sse, source, dst)
        else:
            assert source is not None and target is not None
            target = s3_target(target, source.key)
            reader = options.client(writing=False, cache=cache_data_keys)
            with prefix_hint(reader.s3, source, "copy"):
                done = copy_object(
                    reader,
                    options.copy_writer(cache=cache_data_keys),
                    options,
                    sse,
                    source,
                    target,
                    extra,
                )
    if not quiet and done:
        click.echo(display_key(done), err=dst == "-")


def dry_run_line(
    source: S3Url | None, target: S3Url | None, src: str, dst: str, verb: str = ""
) -> str:
    """What ``cp --dryrun`` of one object prints (``mv``'s, with ``verb`` move): the
    copy it would make."""
    if source is None:
        assert target is not None
        return f"(dryrun) {verb or 'upload'}: {src} to {s3_target(target, src)}"
    if target is None:
        return f"(dryrun) {verb or 'download'}: {source} to {local_target(source, dst)}"
    return f"(dryrun) {verb or 'copy'}: {source} to {s3_target(target, source.key)}"
