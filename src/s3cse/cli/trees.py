"""``cp --recursive``: a transfer per file or object, planned up front (what cannot be
copied is refused by name while the rest runs) and run by ``bulk``."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path, PurePath
from typing import Any

import click

from ..client import EncryptionClient
from ..core import listing, sidecars
from ..core.listing import assumed_plaintext_size
from ..core.sidecars import INDEX_SUFFIX, INSTRUCTION_SUFFIX
from ..errors import ConfigurationError, DestinationError, LocalPathError, S3CSEError, located
from ..io.paths import PathClaims, prepare_parent
from ..io.tree import Skipped, walk_tree
from .attributes import Attributes
from .bulk import Transfer, refused, run_transfers
from .clients import KeyOptions
from .exits import EXIT_SKIPPED, bulk_exit_code
from .objects import S3Url, describe_head, head, with_sidecars
from .options import Sse
from .output import Callback, display_key
from .transfers import copy_object, upload


def copy_recursive(
    options: KeyOptions,
    sse: Sse,
    src: str,
    dst: str,
    *,
    extra: Attributes,
    cache: bool,
    concurrency: int,
    quiet: bool,
    follow_symlinks: bool = True,
) -> None:
    source, target = S3Url.parse(src), S3Url.parse(dst)
    if "-" in (src, dst):
        raise ConfigurationError("--recursive copies directories and prefixes, not - (stdio)")
    if source is None and target is None:
        raise ConfigurationError("one of SRC and DST must be s3://BUCKET[/PREFIX]")
    skipped: list[Skipped] = []
    if source is None:
        assert target is not None
        transfers, skipped = _plan_upload(
            options, sse, Path(src), target, extra, cache, follow_symlinks
        )
    elif target is None:
        transfers = _plan_download(options, sse, source, Path(dst), cache)
    else:
        transfers = _plan_copy(options, sse, source, target, extra, cache)
    _report_skipped(skipped, quiet)
    if not transfers and not quiet:
        click.echo(f"s3cse: nothing to copy under {src}", err=True)
    failures = run_transfers(transfers, concurrency, quiet, sse, prime=cache)
    if failures:
        click.echo(f"s3cse: error: {len(failures)} of {len(transfers)} objects failed", err=True)
        sys.exit(bulk_exit_code(failures))
    if any(skip.warning for skip in skipped):
        sys.exit(EXIT_SKIPPED)


def _report_skipped(skipped: Sequence[Skipped], quiet: bool) -> None:
    """One line on stderr for each thing left out: always for a warning, otherwise
    (what --no-follow-symlinks leaves out) unless quiet."""
    for skip in skipped:
        if skip.warning:
            click.echo(
                display_key(f"s3cse: warning: skipping {skip.path}: {skip.reason}"), err=True
            )
        elif not quiet:
            click.echo(display_key(f"s3cse: skipping {skip.path}: {skip.reason}"), err=True)


def _plan_upload(
    options: KeyOptions,
    sse: Sse,
    root: Path,
    target: S3Url,
    extra: Attributes,
    cache: bool,
    follow_symlinks: bool,
) -> tuple[list[Transfer], list[Skipped]]:
    """One transfer per regular file under ``root`` (see ``io.tree``), and what is
    skipped."""
    if not root.is_dir():
        raise ConfigurationError(f"{root} is not a directory (cp --recursive copies one)")
    client = options.client(writing=True, cache=cache)
    written = [
        suffix
        for suffix, wanted in (
            (INSTRUCTION_SUFFIX, options.instruction_file),
            (INDEX_SUFFIX, options.integrity_index),
        )
        if wanted
    ]
    walked = list(walk_tree(root, follow_symlinks))
    uploaded = {found.relative for found in walked if not isinstance(found, Skipped)}
    transfers, skipped = [], []
    for found in walked:
        if isinstance(found, Skipped):
            skipped.append(found)
            continue
        url = S3Url(target.bucket, listing.join_key(target.key, found.relative))
        clash = _sidecar_clash(url, found.relative, uploaded, written)
        if clash is not None:
            transfers.append(refused(url, clash))
            continue

        def run(callback: Callback | None, path: Path = found.path, url: S3Url = url) -> None:
            upload(client, options, sse, str(path), url, extra, callback or _ignore)

        transfers.append(Transfer(_transfer_line("upload", found.path, url), found.size, run))
    return transfers, skipped


def _sidecar_clash(
    url: S3Url, relative: str, uploaded: set[str], written: list[str]
) -> S3CSEError | None:
    """A file whose sidecar would overwrite another file of the upload (``setup`` with
    --instruction-file beside ``setup.instruction``): refused, whichever runs first."""
    for suffix in written:
        if relative + suffix in uploaded:
            return sidecars.overwrite_refused(url.bucket, url.key, suffix)
    return None


def _ignore(done: int) -> None:
    pass


def _transfer_line(verb: str, source: object, target: object) -> str:
    return display_key(f"{verb}: {source} to {target}")


def _plan_download(
    options: KeyOptions, sse: Sse, source: S3Url, root: Path, cache: bool
) -> list[Transfer]:
    """One transfer per object; one whose key cannot be a file of its own under ``root``
    becomes a transfer that fails, so the others still run."""
    client = options.client(writing=False, cache=cache)
    prefix = listing.dir_prefix(source.key)
    get_args = {"EncryptionContext": options.context, **sse.get_args()}
    claims = PathClaims()
    transfers = []
    for entry in listing.visible(
        with_sidecars(client.s3, source.bucket, prefix, sse_c=sse.get_args())
    ):
        url = S3Url(source.bucket, entry["Key"])
        stored = listing.stored_size(entry)
        try:
            with located(url.bucket, url.key):
                if url.key.endswith("/"):
                    _require_directory_marker(client.s3, url, stored, sse)
                    continue
                relative = claims.claim(url.key[len(prefix) :])
        except S3CSEError as exc:
            transfers.append(refused(url, exc))
            continue

        def run(callback: Callback | None, url: S3Url = url, relative: PurePath = relative) -> None:
            with located(url.bucket, url.key):
                _download_under(client, root, relative, url, callback, get_args)

        size, _ = assumed_plaintext_size(stored)
        transfers.append(Transfer(_transfer_line("download", url, root / relative), size, run))
    return transfers


def _download_under(
    client: EncryptionClient,
    root: Path,
    relative: PurePath,
    url: S3Url,
    callback: Callback | None,
    get_args: dict[str, Any],
) -> None:
    try:
        path = prepare_parent(root, relative)
        client.download_file(url.bucket, url.key, path, Callback=callback, **get_args)
    except DestinationError:
        raise
    except OSError as exc:
        raise ConfigurationError(f"cannot write {root / relative}: {exc.strerror or exc}") from None


def _require_directory_marker(s3: Any, url: S3Url, stored: int, sse: Sse) -> None:
    """A key ending in ``/`` is a folder marker (as consoles and tools make them) when it
    is empty or typed ``application/x-directory``: nothing to write. One holding data
    cannot be a local file; it is refused, rather than silently left out."""
    if stored == 0:
        return
    sse_c = sse.get_args()
    response = head(s3, url.bucket, url.key, sse_c)
    if str(response.get("ContentType", "")).split(";")[0].strip() == "application/x-directory":
        return
    info = describe_head(s3, url.bucket, url.key, response, sse_c)
    if info["size_source"] == "exact" and info["size"] == 0:
        return
    raise LocalPathError(
        f"the key ends in '/' but the object is not an empty folder marker "
        f"({info['size']} bytes): it cannot be written as a local file"
    )


def _plan_copy(
    options: KeyOptions, sse: Sse, source: S3Url, target: S3Url, extra: Attributes, cache: bool
) -> list[Transfer]:
    reader = options.client(writing=False, cache=cache)
    writer = options.copy_writer(cache=cache)
    prefix = listing.dir_prefix(source.key)
    transfers = []
    for entry in listing.visible(
        with_sidecars(reader.s3, source.bucket, prefix, sse_c=sse.source_args())
    ):
        key = entry["Key"]
        relative = key[len(prefix) :]
        if not relative or relative.endswith("/"):
            continue
        from_url, to_url = (
            S3Url(source.bucket, key),
            S3Url(target.bucket, listing.join_key(target.key, relative)),
        )

        def run(callback: Callback | None, a: S3Url = from_url, b: S3Url = to_url) -> None:
            copy_object(reader, writer, options, sse, a, b, extra, callback)

        size, _ = assumed_plaintext_size(listing.stored_size(entry))
        transfers.append(Transfer(_transfer_line("copy", from_url, to_url), size, run))
    return transfers
