"""``s3cse sync``: make a directory or prefix hold what another holds, copying only what
is missing or changed (``syncplan`` decides, on plaintext sizes), as ``aws s3 sync``
does; with ``--delete`` also removing what the source does not have."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from ..core import listing
from ..errors import ConfigurationError, S3CSEError
from ..io.tree import Skipped
from .attributes import Attributes
from .bulk import Transfer, worker_pool
from .clients import KeyOptions
from .filters import FilteredCommand, PathFilter
from .objects import S3Url, exact_info
from .options import (
    Sse,
    copying_options,
    sse_c_hints,
)
from .syncplan import Decision, Direction, Version, decide
from .trees import Entry, TreeJob, finish, local_entries, local_root, object_entries, tree_ends


@click.command(cls=FilteredCommand)
@click.argument("src")
@click.argument("dst")
@click.option(
    "--delete",
    is_flag=True,
    help="Also delete what DST has and SRC does not (objects with their sidecars); "
    "what the filters leave out is not deleted.",
)
@click.option("--size-only", is_flag=True, help="Copy only what differs in (plaintext) size.")
@click.option(
    "--exact-timestamps",
    is_flag=True,
    help="S3 to local: download a same-sized object unless its time equals the file's "
    "(by default only when the file is newer).",
)
@copying_options(
    verb="transferred",
    dryrun_help="Print what would be copied and deleted; change nothing (needs no key).",
    symlinks_help="Local source: follow symbolic links to files and directories, or skip them.",
)
def sync(
    src: str,
    dst: str,
    delete: bool,
    size_only: bool,
    exact_timestamps: bool,
    dry_run: bool,
    cache_data_keys: bool,
    concurrency: int,
    follow_symlinks: bool,
    quiet: bool,
    **kwargs: Any,
) -> None:
    """Copy to DST what SRC has that DST lacks or holds differently, as aws s3 sync does.

    SRC and DST are a directory and an s3://BUCKET/PREFIX (either way), or two prefixes
    (a copy decrypts and re-encrypts). A path is copied when DST lacks it, when the
    sizes differ (plaintext sizes: an object's listed size less the 16-byte GCM tag,
    looked up with a HEAD where that disagrees), or by time: an upload or copy when
    the source is newer, a download when the local file is newer than the object.
    Downloaded files take the object's LastModified as their time, so a second run
    copies nothing. Times count in whole seconds, as S3 keeps them.
    """
    options = KeyOptions.from_options(kwargs)
    options.quiet = quiet
    sse = Sse.from_options(kwargs)
    extra = Attributes.from_options(kwargs)
    source, target = tree_ends(src, dst, "sync takes")
    options.refuse_retarget_with_local(source, target)
    keep = PathFilter.from_context()
    job = TreeJob(options, sse, extra=extra, cache=cache_data_keys, dry_run=dry_run)
    compare = _Comparison(job, size_only, exact_timestamps, concurrency)
    skipped: list[Skipped] = []
    if source is None:
        assert target is not None
        root = local_root(src, "sync copies")
        job.ready("writer")
        sources, skipped = local_entries(root, follow_symlinks, keep)
        objects = _files_of(object_entries(job.s3, target, sse.get_args(), keep))
        transfers = compare.uploads(root, sources, target, objects)
        if delete:
            transfers += job.deletions(_missing(objects, sources), target.bucket)
    elif target is None:
        root = Path(dst)
        if root.exists() and not root.is_dir():
            raise ConfigurationError(f"{root} is not a directory (sync writes into one)")
        job.ready("reader")
        objects = object_entries(job.s3, source, sse.get_args(), keep)
        files = local_entries(root, True, keep)[0] if root.is_dir() else []
        transfers = compare.downloads(source, objects, root, files)
        if delete:
            transfers += job.deletions(_missing(files, objects))
    else:
        job.ready("reader", "copier")
        objects = _files_of(object_entries(job.s3, source, sse.source_args(), keep))
        existing = _files_of(object_entries(job.s3, target, sse.get_args(), keep))
        transfers = compare.copies(source, objects, target, existing)
        if delete:
            transfers += job.deletions(_missing(existing, objects), target.bucket)
    finish(transfers, skipped, concurrency=concurrency, quiet=quiet, sse=sse, prime=cache_data_keys)


def _files_of(entries: Sequence[Entry]) -> list[Entry]:
    """Objects that stand for files: not folder markers (nor the prefix's own marker)."""
    return [entry for entry in entries if entry.relative and not entry.relative.endswith("/")]


def _missing(destination: Sequence[Entry], source: Sequence[Entry]) -> list[Entry]:
    """What ``--delete`` removes: the destination's entries the source does not have."""
    present = {entry.relative for entry in source}
    return [entry for entry in destination if entry.relative not in present]


def _side(entry: Entry | None, bucket: str | None = None, sse_c: Any = None) -> _Side | None:
    return None if entry is None else _Side(entry, bucket, sse_c or {})


@dataclass(frozen=True)
class _Side:
    """A path's entry on one side: a local file, or an object (``bucket`` set) whose
    listed size is only assumed until looked up."""

    entry: Entry
    bucket: str | None = None
    sse_c: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> Version:
        return Version(self.entry.size, self.entry.mtime, assumed=self.bucket is not None)


@dataclass
class _Comparison:
    """The transfers ``sync`` makes: one for each source entry that ``decide`` says to
    copy; objects whose listed sizes are not enough are looked up first, on a pool."""

    job: TreeJob
    size_only: bool
    exact_timestamps: bool
    concurrency: int

    def uploads(
        self, root: Path, files: Sequence[Entry], target: S3Url, objects: Sequence[Entry]
    ) -> list[Transfer]:
        at_target = {entry.relative: entry for entry in objects}
        sse_c = self.job.sse.get_args()
        chosen = self._chosen(
            Direction.UPLOAD,
            [
                (_Side(file), _side(at_target.get(file.relative), target.bucket, sse_c))
                for file in files
            ],
        )
        uploaded = {entry.relative for entry in files}
        transfers = []
        for file in (files[i] for i in chosen):
            url = S3Url(target.bucket, listing.join_key(target.key, file.relative))
            clash = self.job.sidecar_clash(url, file.relative, uploaded)
            transfers.append(self.job.upload(file, url, clash))
        return transfers

    def downloads(
        self, source: S3Url, objects: Sequence[Entry], root: Path, files: Sequence[Entry]
    ) -> list[Transfer]:
        at_root = {entry.relative: entry for entry in files}
        claimed, transfers = self.job.claim_paths(source.bucket, objects)
        sse_c = self.job.sse.get_args()
        chosen = self._chosen(
            Direction.DOWNLOAD,
            [
                (_Side(entry, source.bucket, sse_c), _side(at_root.get(relative.as_posix())))
                for entry, relative in claimed
            ],
        )
        for entry, relative in (claimed[i] for i in chosen):
            transfers.append(self.job.download(source.bucket, entry, root, relative))
        return transfers

    def copies(
        self, source: S3Url, objects: Sequence[Entry], target: S3Url, existing: Sequence[Entry]
    ) -> list[Transfer]:
        at_target = {entry.relative: entry for entry in existing}
        sse = self.job.sse
        chosen = self._chosen(
            Direction.COPY,
            [
                (
                    _Side(entry, source.bucket, sse.source_args()),
                    _side(at_target.get(entry.relative), target.bucket, sse.get_args()),
                )
                for entry in objects
            ],
        )
        return [
            self.job.copy(
                source.bucket,
                objects[i],
                S3Url(target.bucket, listing.join_key(target.key, objects[i].relative)),
            )
            for i in chosen
        ]

    def _chosen(
        self, direction: Direction, pairs: Sequence[tuple[_Side, _Side | None]]
    ) -> list[int]:
        """The indexes (in order) of the pairs (source, destination if it has the path)
        to copy."""
        decisions = [
            Decision.COPY
            if destination is None
            else self._decide(direction, source.version, destination.version)
            for source, destination in pairs
        ]
        looks = [i for i, decision in enumerate(decisions) if decision is Decision.LOOK]

        def look(i: int) -> Decision:
            source, destination = pairs[i]
            assert destination is not None
            exact_source, exact_destination = self._exact(source), self._exact(destination)
            if exact_source is None or exact_destination is None:
                return Decision.COPY  # cannot tell: the copy says what is wrong, or puts it right
            return self._decide(direction, exact_source, exact_destination)

        if looks:
            with worker_pool(self.concurrency) as pool:
                for i, decision in zip(looks, pool.map(look, looks), strict=True):
                    decisions[i] = decision
        return [i for i, decision in enumerate(decisions) if decision is Decision.COPY]

    def _decide(self, direction: Direction, source: Version, destination: Version) -> Decision:
        return decide(
            direction,
            source,
            destination,
            size_only=self.size_only,
            exact_timestamps=self.exact_timestamps,
        )

    def _exact(self, side: _Side) -> Version | None:
        """An object's exact plaintext size from a HEAD (and its instruction file):
        legacy AES-CBC objects and unencrypted ones differ from what the listing
        implies. None when it cannot be looked at."""
        entry = side.entry
        if side.bucket is None:
            return side.version
        try:
            with sse_c_hints(self.job.sse):
                info = exact_info(self.job.s3, side.bucket, entry.key, side.sse_c)
        except S3CSEError:
            return None
        size = int(info["size"])
        if info["size_source"] == "cbc-upper-bound":  # PKCS#7 pads 1 to 16 bytes
            return Version(max(size - 16, 0), entry.mtime, size_max=max(size - 1, 0))
        return Version(size, entry.mtime)
