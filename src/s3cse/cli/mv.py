"""``s3cse mv``: copy as ``cp`` does, then delete the source, one item at a time: an
item's source goes only once its copy has succeeded (a download once the object has
been authenticated and written), so a failed or interrupted item keeps its source."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..errors import ConfigurationError
from .attributes import Attributes
from .clients import KeyOptions, keyless_client
from .cp import dry_run_line
from .filters import FilteredCommand
from .objects import S3Url, prefix_hint, refuse_prefix, s3_target
from .options import (
    Sse,
    copying_options,
    sse_c_hints,
)
from .output import display_key
from .transfers import copy_object, download, upload
from .trees import copy_recursive


@click.command(cls=FilteredCommand)
@click.argument("src")
@click.argument("dst")
@click.option(
    "--recursive", "-r", is_flag=True, help="Move a directory or everything under an s3:// prefix."
)
@copying_options(
    verb="moved",
    dryrun_help="Print what would be moved; change nothing (needs no key).",
)
def mv(
    src: str,
    dst: str,
    recursive: bool,
    dry_run: bool,
    cache_data_keys: bool,
    concurrency: int,
    follow_symlinks: bool,
    quiet: bool,
    **kwargs: Any,
) -> None:
    """Move SRC to DST: copy it as cp does (encrypting, decrypting, or re-encrypting),
    then delete the source, an object with its instruction file and integrity index.

    Each source is deleted only after its own copy succeeded; a download only once the
    object is authenticated and in place. With --recursive (and --exclude/--include),
    SRC and DST are a directory and an s3://BUCKET/PREFIX, or two prefixes.
    """
    options = KeyOptions.from_options(kwargs)
    options.quiet = quiet
    sse = Sse.from_options(kwargs)
    extra = Attributes.from_options(kwargs)
    source, target = S3Url.parse(src), S3Url.parse(dst)
    options.refuse_retarget_with_local(source, target)
    if source is not None and target is not None:
        _refuse_onto_itself(source, target, recursive)
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
            move=True,
        )
        return
    if "-" in (src, dst):
        raise ConfigurationError("mv moves files and objects, not - (stdio)")
    if source is None and target is None:
        raise ConfigurationError("one of SRC and DST must be s3://BUCKET/KEY")
    if source is not None:
        refuse_prefix(source, "move")
    if dry_run:
        if not quiet:
            click.echo(display_key(dry_run_line(source, target, src, dst, "move")))
        return
    with sse_c_hints(sse):
        _move_one(options, sse, extra, source, target, src, dst, cache_data_keys)
    if not quiet:
        click.echo(display_key(f"move: {src} to {_shown_target(source, target, src, dst)}"))


def _move_one(
    options: KeyOptions,
    sse: Sse,
    extra: Attributes,
    source: S3Url | None,
    target: S3Url | None,
    src: str,
    dst: str,
    cache: bool,
) -> None:
    if source is None:
        assert target is not None
        upload(
            options.client(writing=True, cache=cache),
            options,
            sse,
            src,
            s3_target(target, src),
            extra,
        )
        _remove(Path(src))
        return
    reader = options.client(writing=False, cache=cache)
    with prefix_hint(reader.s3, source, "move"):
        if target is None:
            download(reader, options, sse, source, dst)
        else:
            copy_object(
                reader,
                options.copy_writer(cache=cache),
                options,
                sse,
                source,
                s3_target(target, source.key),
                extra,
            )
    keyless_client(reader.s3).delete_object(Bucket=source.bucket, Key=source.key)


def _shown_target(source: S3Url | None, target: S3Url | None, src: str, dst: str) -> str:
    from .transfers import local_target

    if target is None:
        assert source is not None
        return str(local_target(source, dst))
    return str(s3_target(target, src if source is None else source.key))


def _refuse_onto_itself(source: S3Url, target: S3Url, recursive: bool) -> None:
    """A move onto itself would copy an object over itself and then delete it."""
    same = (
        source.key.rstrip("/") == target.key.rstrip("/")
        if recursive
        else s3_target(target, source.key).key == source.key
    )
    if source.bucket == target.bucket and same:
        raise ConfigurationError(
            f"cannot move {source} onto itself: the source and destination are the same "
            f"{'prefix' if recursive else 'object'}"
        )


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except OSError as exc:
        raise ConfigurationError(
            f"uploaded {path}, but cannot remove it: {exc.strerror or exc}"
        ) from None
