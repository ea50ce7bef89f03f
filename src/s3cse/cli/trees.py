"""Commands over trees (``cp``/``mv --recursive``, ``sync``): both sides listed as
entries relative to their roots (filtered by ``--exclude``/``--include``), a transfer
per file or object, planned up front (what cannot be copied is refused by name while
the rest runs) and run by ``bulk``."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

import click

from ..client import EncryptionClient
from ..core import listing, sidecars
from ..core.listing import assumed_plaintext_size
from ..core.sidecars import INDEX_SUFFIX, INSTRUCTION_SUFFIX
from ..errors import ConfigurationError, DestinationError, LocalPathError, S3CSEError, located
from ..io.paths import PathClaims, prepare_parent
from ..io.tree import LocalFile, Skipped, walk_tree
from .attributes import Attributes
from .bulk import Transfer, refused, run_transfers
from .clients import KeyOptions, keyless_client, s3_client
from .exits import EXIT_SKIPPED, bulk_exit_code
from .filters import PathFilter
from .objects import S3Url, describe_head, head, with_sidecars
from .options import Sse
from .output import Callback, display_key
from .syncplan import epoch
from .transfers import copy_object, stamp_mtime, upload


@dataclass(frozen=True)
class Entry:
    """A file or object under a tree's root. ``size``: the plaintext size, as the
    listing implies it for an object (``assumed_plaintext_size``); ``mtime``: seconds
    since the epoch (an object's LastModified)."""

    relative: str
    size: int
    mtime: float
    path: Path | None = None
    key: str = ""
    stored: int = 0


def local_entries(
    root: Path, follow_symlinks: bool, keep: PathFilter
) -> tuple[list[Entry], list[Skipped]]:
    """The regular files under ``root`` (see ``io.tree``) that ``keep`` keeps, and what
    is skipped."""
    entries, skipped = [], []
    for found in walk_tree(root, follow_symlinks):
        if isinstance(found, LocalFile):
            if keep.includes(found.relative):
                entries.append(_local_entry(found))
        elif keep.includes(_relative_to(found.path, root)):
            skipped.append(found)
    return entries, skipped


def _local_entry(found: LocalFile) -> Entry:
    try:
        mtime = os.stat(found.path).st_mtime
    except OSError:
        mtime = 0.0  # gone since the walk: its upload will say so
    return Entry(found.relative, found.size, mtime, path=found.path)


def _relative_to(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name


def object_entries(s3: Any, url: S3Url, sse_c: dict[str, Any], keep: PathFilter) -> list[Entry]:
    """The objects under the "directory" ``url`` names (sidecars are not listed: they
    travel with their objects) that ``keep`` keeps, folder markers included."""
    prefix = listing.dir_prefix(url.key)
    entries = []
    for entry in listing.visible(with_sidecars(s3, url.bucket, prefix, sse_c=sse_c)):
        relative = entry["Key"][len(prefix) :]
        if not keep.includes(relative):
            continue
        stored = listing.stored_size(entry)
        size, _ = assumed_plaintext_size(stored)
        modified = entry.get("LastModified")
        mtime = epoch(modified) if modified is not None else 0.0
        entries.append(Entry(relative, size, mtime, key=entry["Key"], stored=stored))
    return entries


class TreeJob:
    """What the transfers of one command share: options, clients made once up front
    (none for a dry run: it needs no key and calls no KMS), and whether sources go
    once copied (``mv``)."""

    def __init__(
        self,
        options: KeyOptions,
        sse: Sse,
        *,
        extra: Attributes,
        cache: bool,
        dry_run: bool = False,
        move: bool = False,
    ) -> None:
        self.options, self.sse, self.extra, self.cache = options, sse, extra, cache
        self.dry_run, self.move = dry_run, move
        self.s3 = s3_client(options.endpoint_url, options.profile, options.region)
        self._clients: dict[str, EncryptionClient] = {}
        if move:  # made here: the transfers' threads must not race to make it
            self.client("deleter")

    def client(self, role: str) -> EncryptionClient:
        """``reader``, ``writer`` (of uploads), ``copier`` (of s3:// copies) or
        ``deleter`` (keyless), made on first use, on the planning thread."""
        if role not in self._clients:
            if role == "deleter":
                made = keyless_client(self.s3)
            elif role == "copier":
                made = self.options.copy_writer(cache=self.cache)
            else:
                made = self.options.client(writing=role == "writer", cache=self.cache)
            self._clients[role] = made
        return self._clients[role]

    def ready(self, *roles: str) -> None:
        """Make the clients a run needs before it lists anything, so that a missing or
        unusable key is said first (a dry run needs none)."""
        if not self.dry_run:
            for role in roles:
                self.client(role)

    def _transfer(
        self, verb: str, source: object, target: object, size: int | None, run: Any
    ) -> Transfer:
        """A transfer, its line saying ``verb`` (``move`` for ``mv``; prefixed with
        ``(dryrun)`` and doing nothing for a dry run)."""
        line = display_key(f"{'move' if self.move else verb}: {source} to {target}")
        if self.dry_run:
            return Transfer(f"(dryrun) {line}", size, _nothing)
        return Transfer(line, size, run)

    def upload(self, entry: Entry, url: S3Url, clash: S3CSEError | None = None) -> Transfer:
        if clash is not None:
            return refused(url, clash)
        assert entry.path is not None
        path = entry.path
        client = None if self.dry_run else self.client("writer")

        def run(callback: Callback | None) -> None:
            assert client is not None
            upload(client, self.options, self.sse, str(path), url, self.extra, callback or _ignore)
            if self.move:
                _remove_file(path)

        return self._transfer("upload", path, url, entry.size, run)

    def uploads(self, root: Path, entries: Sequence[Entry], target: S3Url) -> list[Transfer]:
        """A transfer per file (refused where its sidecar would overwrite another)."""
        uploaded = {entry.relative for entry in entries}
        return [
            self.upload(entry, url, self.sidecar_clash(url, entry.relative, uploaded))
            for entry in entries
            for url in [S3Url(target.bucket, listing.join_key(target.key, entry.relative))]
        ]

    def sidecar_clash(self, url: S3Url, relative: str, uploaded: set[str]) -> S3CSEError | None:
        """A file whose sidecar would overwrite another file of the upload (``setup``
        with --instruction-file beside ``setup.instruction``): refused, whichever runs
        first."""
        for suffix, written in (
            (INSTRUCTION_SUFFIX, self.options.instruction_file),
            (INDEX_SUFFIX, self.options.integrity_index),
        ):
            if written and relative + suffix in uploaded:
                return sidecars.overwrite_refused(url.bucket, url.key, suffix)
        return None

    def claim_paths(
        self, bucket: str, entries: Iterable[Entry]
    ) -> tuple[list[tuple[Entry, PurePath]], list[Transfer]]:
        """The local path of each object to download; one whose key cannot be a file
        of its own becomes a transfer that fails, so the others still run; folder
        markers are left out."""
        claims = PathClaims()
        claimed, failing = [], []
        for entry in entries:
            url = S3Url(bucket, entry.key)
            try:
                with located(url.bucket, url.key):
                    if url.key.endswith("/"):
                        _require_directory_marker(self.s3, url, entry.stored, self.sse)
                        continue
                    claimed.append((entry, claims.claim(entry.relative)))
            except S3CSEError as exc:
                failing.append(refused(url, exc))
        return claimed, failing

    def download(self, bucket: str, entry: Entry, root: Path, relative: PurePath) -> Transfer:
        url = S3Url(bucket, entry.key)
        client = None if self.dry_run else self.client("reader")
        get_args = {"EncryptionContext": self.options.context, **self.sse.get_args()}

        def run(callback: Callback | None) -> None:
            assert client is not None
            with located(url.bucket, url.key):
                _download_under(client, root, relative, url, entry.mtime, callback, get_args)
                if self.move:
                    self.client("deleter").delete_object(Bucket=url.bucket, Key=url.key)

        return self._transfer("download", url, root / relative, entry.size, run)

    def downloads(self, source: S3Url, entries: Sequence[Entry], root: Path) -> list[Transfer]:
        claimed, transfers = self.claim_paths(source.bucket, entries)
        for entry, relative in claimed:
            transfers.append(self.download(source.bucket, entry, root, relative))
        return transfers

    def copy(self, bucket: str, entry: Entry, to_url: S3Url) -> Transfer:
        from_url = S3Url(bucket, entry.key)
        clients = None if self.dry_run else (self.client("reader"), self.client("copier"))

        def run(callback: Callback | None) -> None:
            assert clients is not None
            copy_object(*clients, self.options, self.sse, from_url, to_url, self.extra, callback)
            if self.move:
                self.client("deleter").delete_object(Bucket=from_url.bucket, Key=from_url.key)

        return self._transfer("copy", from_url, to_url, entry.size, run)

    def copies(self, source: S3Url, entries: Sequence[Entry], target: S3Url) -> list[Transfer]:
        return [
            self.copy(
                source.bucket,
                entry,
                S3Url(target.bucket, listing.join_key(target.key, entry.relative)),
            )
            for entry in entries
            if entry.relative and not entry.relative.endswith("/")
        ]

    def deletions(self, entries: Sequence[Entry], bucket: str | None = None) -> list[Transfer]:
        """For ``sync --delete``: a transfer deleting each entry, a local file, or an
        object in ``bucket`` with its sidecars."""
        deleter = None if self.dry_run or bucket is None else self.client("deleter")
        transfers = []
        for entry in entries:
            shown: object = entry.path if bucket is None else S3Url(bucket, entry.key)
            line = display_key(f"delete: {shown}")
            if self.dry_run:
                transfers.append(Transfer(f"(dryrun) {line}", 0, _nothing))
            elif deleter is not None and bucket is not None:
                transfers.append(Transfer(line, 0, _object_deletion(deleter, bucket, entry.key)))
            elif entry.path is not None:
                transfers.append(Transfer(line, 0, _file_deletion(entry.path)))
        return transfers


def _object_deletion(deleter: EncryptionClient, bucket: str, key: str) -> Any:
    return lambda callback: deleter.delete_object(Bucket=bucket, Key=key)


def _file_deletion(path: Path) -> Any:
    return lambda callback: _remove_file(path)


def _nothing(callback: Callback | None) -> None:
    pass


def _ignore(done: int) -> None:
    pass


def _remove_file(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise ConfigurationError(f"cannot remove {path}: {exc.strerror or exc}") from None


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
    dry_run: bool = False,
    move: bool = False,
) -> None:
    """``cp --recursive`` (and ``mv --recursive``: ``move``)."""
    source, target = tree_ends(src, dst, "--recursive copies")
    keep = PathFilter.from_context()
    job = TreeJob(options, sse, extra=extra, cache=cache, dry_run=dry_run, move=move)
    skipped: list[Skipped] = []
    if source is None:
        assert target is not None
        root = local_root(src)
        job.ready("writer")
        entries, skipped = local_entries(root, follow_symlinks, keep)
        transfers = job.uploads(root, entries, target)
    elif target is None:
        job.ready("reader")
        entries = object_entries(job.s3, source, sse.get_args(), keep)
        transfers = job.downloads(source, entries, Path(dst))
    else:
        job.ready("reader", "copier")
        entries = object_entries(job.s3, source, sse.source_args(), keep)
        transfers = job.copies(source, entries, target)
    if not transfers and not quiet:
        click.echo(f"s3cse: nothing to copy under {src}", err=True)
    finish(transfers, skipped, concurrency=concurrency, quiet=quiet, sse=sse, prime=cache)


def tree_ends(src: str, dst: str, what: str) -> tuple[S3Url | None, S3Url | None]:
    source, target = S3Url.parse(src), S3Url.parse(dst)
    if "-" in (src, dst):
        raise ConfigurationError(f"{what} directories and prefixes, not - (stdio)")
    if source is None and target is None:
        raise ConfigurationError("one of SRC and DST must be s3://BUCKET[/PREFIX]")
    return source, target


def local_root(src: str, command: str = "--recursive copies") -> Path:
    root = Path(src)
    if not root.is_dir():
        raise ConfigurationError(f"{root} is not a directory ({command} one)")
    return root


def finish(
    transfers: Sequence[Transfer],
    skipped: Sequence[Skipped],
    *,
    concurrency: int,
    quiet: bool,
    sse: Sse,
    prime: bool,
) -> None:
    """Report what is skipped, run the transfers, and exit as ``aws s3`` does: 1 (or
    the failures' own code) if any failed, 2 if files were skipped with a warning."""
    _report_skipped(skipped, quiet)
    failures = run_transfers(transfers, concurrency, quiet, sse, prime=prime)
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


def _download_under(
    client: EncryptionClient,
    root: Path,
    relative: PurePath,
    url: S3Url,
    mtime: float,
    callback: Callback | None,
    get_args: dict[str, Any],
) -> None:
    try:
        path = prepare_parent(root, relative)
        client.download_file(url.bucket, url.key, path, Callback=callback, **get_args)
        stamp_mtime(path, mtime)
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
