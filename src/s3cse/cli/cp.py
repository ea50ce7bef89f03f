"""``s3cse cp``: copy files and objects, encrypting on upload and decrypting on
download; ``--recursive`` copies directories and prefixes (``cp_tree``)."""

from __future__ import annotations

from typing import Any

import click

from ..errors import ConfigurationError
from .clients import KeyOptions
from .objects import S3Url, prefix_hint, refuse_prefix, s3_target
from .options import Sse, concurrency_option, key_options, quiet_option, sse_c_hints, sse_options
from .output import display_key
from .transfers import copy_object, download, upload
from .trees import copy_recursive


@click.command()
@click.argument("src")
@click.argument("dst")
@key_options
@sse_options(writes=True, copies=True)
@click.option(
    "--recursive", "-r", is_flag=True, help="Copy a directory or everything under an s3:// prefix."
)
@click.option(
    "--cache-data-keys",
    is_flag=True,
    help="Reuse data keys across objects (format v3): far fewer KMS calls for many small objects.",
)
@concurrency_option("Objects transferred at once with --recursive.")
@click.option("--content-type", help="Content-Type to store with an upload.")
@click.option(
    "--follow-symlinks/--no-follow-symlinks",
    default=True,
    show_default=True,
    help="With --recursive uploads: follow symbolic links to files and directories, or skip them.",
)
@quiet_option()
def cp(
    src: str,
    dst: str,
    recursive: bool,
    cache_data_keys: bool,
    concurrency: int,
    content_type: str | None,
    follow_symlinks: bool,
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
    """
    options = KeyOptions.from_options(kwargs)
    options.quiet = quiet
    sse = Sse.from_options(kwargs)
    extra = {"ContentType": content_type} if content_type else {}
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
        )
        return
    source, target = S3Url.parse(src), S3Url.parse(dst)
    if source is None and target is None:
        raise ConfigurationError("one of SRC and DST must be s3://BUCKET/KEY")
    if source is not None:
        refuse_prefix(source, "copy")
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
