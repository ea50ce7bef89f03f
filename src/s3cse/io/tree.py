"""Which files of a local directory tree ``cp --recursive`` uploads, and which it skips.

As with ``aws s3 cp --recursive``: symbolic links, to files and to directories, are
followed unless asked not to; special files (FIFOs, sockets, devices) are skipped with a
warning instead of read (a FIFO would block the upload forever), and so are dangling
links. A directory reached again through a link, below itself, is a loop: it is skipped
rather than walked forever. The walk keeps its own stack, so no tree is too deep for it.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

Identity = tuple[int, int]
"""A directory's device and inode: the same directory, whatever the path to it."""


@dataclass(frozen=True)
class LocalFile:
    """A regular file to upload (perhaps through a link), and its place in the tree."""

    path: Path
    relative: str
    size: int


@dataclass(frozen=True)
class Skipped:
    """Something in the tree that is not uploaded, and why. ``warning``: the user did
    not ask for it to be left out (``aws s3`` then exits with 2)."""

    path: Path
    reason: str
    warning: bool = True


@dataclass(frozen=True)
class _Directory:
    entries: Iterator[os.DirEntry[str]]
    relative: PurePosixPath
    ancestors: dict[Identity, Path]


def walk_tree(root: Path, follow_symlinks: bool = True) -> Iterator[LocalFile | Skipped]:
    """The files under ``root`` (itself followed if it is a link), in name order."""
    stack = [_Directory(_listing(root), PurePosixPath(), {_identity(root.stat()): root})]
    while stack:
        directory = stack[-1]
        entry = next(directory.entries, None)
        if entry is None:
            stack.pop()
            continue
        path, relative = Path(entry.path), directory.relative / entry.name
        if not follow_symlinks and entry.is_symlink():
            yield Skipped(path, "a symbolic link (--no-follow-symlinks)", warning=False)
            continue
        try:
            status = path.stat()
        except OSError as exc:
            yield Skipped(path, _unreadable(entry, exc))
            continue
        if stat.S_ISREG(status.st_mode):
            yield LocalFile(path, relative.as_posix(), status.st_size)
        elif not stat.S_ISDIR(status.st_mode):
            yield Skipped(path, f"a {_kind(status.st_mode)}, not a regular file")
        elif (ancestor := directory.ancestors.get(_identity(status))) is not None:
            yield Skipped(path, f"a symbolic link loop: it leads back to {ancestor}")
        else:
            try:
                entries = _listing(path)
            except OSError as exc:
                yield Skipped(path, f"cannot list the directory: {exc.strerror}")
                continue
            stack.append(
                _Directory(entries, relative, {**directory.ancestors, _identity(status): path})
            )


def _listing(directory: Path) -> Iterator[os.DirEntry[str]]:
    with os.scandir(directory) as entries:
        return iter(sorted(entries, key=lambda entry: entry.name))


def _identity(status: os.stat_result) -> Identity:
    return status.st_dev, status.st_ino


def _unreadable(entry: os.DirEntry[str], exc: OSError) -> str:
    if entry.is_symlink() and exc.errno == errno.ENOENT:
        return "a dangling symbolic link (its target does not exist)"
    if exc.errno == errno.ELOOP:
        return "a symbolic link loop (too many levels of symbolic links)"
    if exc.errno == errno.ENOENT:
        return "it no longer exists"
    return f"cannot read it: {exc.strerror}"


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode):
        return "character device"
    if stat.S_ISBLK(mode):
        return "block device"
    return "special file"
