"""Download destinations: nothing of an object reaches one before it is authenticated.

A download into a file goes to a new file beside it that has no name yet (Linux
``O_TMPFILE``): once the whole object has verified it is linked in under a temporary
name and renamed over the destination, so the swap is atomic; until then it vanishes
with the process however that ends, SIGKILL included. Where unnamed files are not
supported (other systems, some filesystems) a named temporary file stands in, removed
on any failure or interrupt.

A destination that a rename would destroy rather than fill (a device, a FIFO, a
terminal, ``/dev/stdout`` and the other names of open descriptors) and a caller's file
object get the plaintext only once it has verified: until then it waits in a private
``Spool`` (memory up to ``spool_threshold``, then an unnamed temporary file in
``spool_dir``). It is written as the object arrives (``release_early``) only chunk by
chunk through the object's integrity index, each chunk once it verifies, or, with no
authentication before the end, under ``delayed_authentication=True``.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import re
import secrets
import stat
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import IO, Any, Protocol

from ..core.config import DEFAULT_SPOOL_THRESHOLD
from ..core.pumps import CHUNK
from ..errors import DestinationError, S3CSEError

PART_SUFFIX = ".s3cse-part"
# what open(O_TMPFILE) fails with where the kernel or the filesystem lacks it
_NO_UNNAMED_FILES = frozenset({errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL})
_DESCRIPTOR_DIRECTORY = re.compile(r"/proc/(self|thread-self|\d+)(/task/\d+)?/fd|/dev/fd")
_MAX_SYMLINKS = 40


class Destination(Protocol):
    """Where a download is written (``file``), then handed on once it has verified."""

    @property
    def file(self) -> IO[bytes]: ...

    def filling(self) -> contextlib.AbstractContextManager[None]:
        """Around the writes to ``file``: their failures become ``DestinationError``."""

    def release(self) -> None:
        """Hand the verified plaintext to the destination."""

    def close(self) -> None:
        """Drop what was not released (idempotent)."""


class Spool:
    """Plaintext held back until its object has verified: in memory, then in an unnamed
    temporary file, so nothing of it outlives the process."""

    def __init__(
        self, threshold: int = DEFAULT_SPOOL_THRESHOLD, directory: str | None = None
    ) -> None:
        self.location = directory or tempfile.gettempdir()
        self.file: IO[bytes] = tempfile.SpooledTemporaryFile(  # noqa: SIM115
            max_size=threshold, dir=directory
        )

    def chunks(self) -> Iterator[bytes]:
        self.file.seek(0)
        while chunk := self.file.read(CHUNK):
            yield chunk

    def copy_to(self, write: Callable[[bytes], Any]) -> None:
        for chunk in self.chunks():
            write(chunk)

    def filling(self) -> contextlib.AbstractContextManager[None]:
        """A failure to write the spool names where it lives, not the destination."""
        return writes_to(f"a temporary file in {self.location}")

    def close(self) -> None:
        self.file.close()


class _NewFile:
    """A file beside ``target``, renamed over it only by ``release``."""

    def __init__(self, target: Path) -> None:
        self.target = target
        fd, self._name = _create_beside(target)
        self.file: IO[bytes] = os.fdopen(fd, "wb")

    def filling(self) -> contextlib.AbstractContextManager[None]:
        return writes_to(self.target)

    def release(self) -> None:
        with writes_to(self.target):
            self.file.flush()
            if self._name is None:
                self._name = _name_unnamed(self.file.fileno(), self.target)
            os.replace(self._name, self.target)
            self._name = None
            self.file.close()

    def close(self) -> None:
        self.file.close()
        if self._name is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._name)
            self._name = None


class _InPlace:
    """A device, FIFO or descriptor name: opened at once (a FIFO waits for its reader,
    and that reader sees end-of-file, not a hang, if the download fails), written from
    the spool once the object has verified; or as it arrives if ``spool`` is None."""

    def __init__(self, target: Path, spool: Spool | None) -> None:
        self.target = target
        with writes_to(target):
            fd = os.open(target, _in_place_flags(target))
        self._sink: IO[bytes] = os.fdopen(fd, "wb")
        self._spool = spool

    @property
    def file(self) -> IO[bytes]:
        return self._sink if self._spool is None else self._spool.file

    def filling(self) -> contextlib.AbstractContextManager[None]:
        return writes_to(self.target) if self._spool is None else self._spool.filling()

    def release(self) -> None:
        with writes_to(self.target):
            if self._spool is not None:
                self._spool.copy_to(self._sink.write)
            self._sink.close()

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()
        with contextlib.suppress(OSError):
            self._sink.close()


def open_destination(
    target: Path,
    spool_threshold: int = DEFAULT_SPOOL_THRESHOLD,
    spool_dir: str | None = None,
    release_early: bool = False,
) -> Destination:
    """Where to download to ``target``: write ``.file`` (inside ``.filling()``), then
    call ``.release()`` once the object has verified; ``.close()`` in any case. Nothing
    reaches ``target`` without the release. ``release_early`` (delayed authentication)
    lets a device or FIFO be written as the object arrives.
    """
    if writes_in_place(target):
        return _InPlace(target, None if release_early else Spool(spool_threshold, spool_dir))
    with writes_to(target):
        return _NewFile(target)


@contextlib.contextmanager
def atomic_destination(
    target: Path,
    spool_threshold: int = DEFAULT_SPOOL_THRESHOLD,
    spool_dir: str | None = None,
    release_early: bool = False,
) -> Iterator[Destination]:
    """``open_destination`` for a ``with`` block, which closes it however it ends."""
    destination = open_destination(target, spool_threshold, spool_dir, release_early)
    try:
        with destination.filling():
            yield destination
    finally:
        destination.close()


@contextlib.asynccontextmanager
async def async_destination(
    target: Path,
    spool_threshold: int = DEFAULT_SPOOL_THRESHOLD,
    spool_dir: str | None = None,
    release_early: bool = False,
) -> AsyncIterator[Destination]:
    """``atomic_destination`` for the async client: opened on a worker thread (a FIFO
    blocks until its reader comes), and closed however the block ends."""
    destination = await asyncio.to_thread(
        open_destination, target, spool_threshold, spool_dir, release_early
    )
    try:
        with destination.filling():
            yield destination
    finally:
        destination.close()


def writes_in_place(target: Path) -> bool:
    """Whether ``target`` must be written into rather than replaced by a rename."""
    return _is_special_file(target) or _names_a_descriptor(target)


def _is_special_file(path: Path) -> bool:
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode) or stat.S_ISBLK(mode)


def _names_a_descriptor(path: Path) -> bool:
    """``/dev/stdout``, ``/dev/fd/N``, ``/proc/self/fd/N`` or a link to one: even when
    the descriptor is a regular file, renaming onto such a name would replace the link
    (as root, ``/dev/stdout`` itself), not fill the file."""
    current = path
    try:
        for _ in range(_MAX_SYMLINKS):
            if _DESCRIPTOR_DIRECTORY.fullmatch(os.path.realpath(current.parent)):
                return True
            if not current.is_symlink():
                return False
            current = current.parent / os.readlink(current)
    except OSError:  # unreadable: creating the file beside it will say why
        return False
    return False


def _in_place_flags(target: Path) -> int:
    """Open without becoming the terminal's controlling process; a regular file behind
    a descriptor name (``/dev/stdout`` redirected to a file) is appended to, as the
    shell's ``>`` or ``>>`` left it, not truncated."""
    flags = os.O_WRONLY | getattr(os, "O_NOCTTY", 0)
    with contextlib.suppress(OSError):
        if stat.S_ISREG(target.stat().st_mode):
            flags |= os.O_APPEND
    return flags


def _create_beside(target: Path) -> tuple[int, str | None]:
    """A new file in ``target``'s directory: unnamed where possible (name None)."""
    directory = target.parent
    if hasattr(os, "O_TMPFILE") and os.path.isdir("/proc/self/fd"):
        try:
            return os.open(directory, os.O_TMPFILE | os.O_WRONLY, 0o600), None
        except OSError as exc:
            if exc.errno not in _NO_UNNAMED_FILES:
                raise
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=PART_SUFFIX, dir=directory)
    return fd, name


def _name_unnamed(fd: int, target: Path) -> str:
    """Link an unnamed file in beside ``target`` under a fresh temporary name.

    The directory descriptor makes ``os.link`` call ``linkat`` with
    ``AT_SYMLINK_FOLLOW``, which links the file behind ``/proc/self/fd/N``; plain
    ``link`` would try to link that ``/proc`` entry itself.
    """
    directory = os.open(target.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        while True:
            name = f".{target.name}.{secrets.token_hex(6)}{PART_SUFFIX}"
            try:
                os.link(f"/proc/self/fd/{fd}", name, dst_dir_fd=directory)
            except FileExistsError:
                continue
            return str(target.parent / name)
    finally:
        os.close(directory)


@contextlib.contextmanager
def writes_to(where: object) -> Iterator[None]:
    """An ``OSError`` raised inside becomes a ``DestinationError`` naming ``where``."""
    try:
        yield
    except OSError as exc:
        if isinstance(exc, S3CSEError):
            raise
        raise DestinationError.writing(where, exc) from exc


@contextlib.contextmanager
def writing_to(sink: object, bucket: str, key: str) -> Iterator[None]:
    """Name a caller's file object (and the object downloaded into it) in the
    ``DestinationError`` its write failures become."""
    try:
        with writes_to(getattr(sink, "name", "the file object")):
            yield
    except DestinationError as error:
        raise error.locate(bucket, key) from error.__cause__
