"""Local file paths made from S3 keys, for downloads of many objects at once.

Whoever can write to a bucket chooses its keys, and a key is just a string: it may hold
``..`` or ``.`` segments, empty segments (``a//b``), a leading ``/``, NUL, or on Windows
``\\``, drive letters and device names. Each would make a local path that escapes the
destination or aliases another object's file. ``local_path`` accepts a key's relative
part only if it maps, segment for segment, to a unique relative path; ``prepare_parent``
then creates its directories without following a symlink out of the destination.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath

from ..errors import LocalPathError

_SPECIAL_SEGMENTS = ("", ".", "..")
_WINDOWS_FORBIDDEN = frozenset('<>:"|?*\\/') | frozenset(map(chr, range(32)))
_WINDOWS_DEVICES = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$"]
    + [f"{port}{n}" for port in ("COM", "LPT") for n in [*"0123456789", "¹", "²", "³"]]
)


def platform_flavour() -> type[PurePath]:
    """The path rules of the running system."""
    return PureWindowsPath if os.name == "nt" else PurePosixPath


def local_path(relative: str, flavour: type[PurePath] | None = None) -> PurePath:
    """The relative local path for a key's part below the copied prefix.

    Raises ``LocalPathError`` unless every ``/``-separated segment becomes exactly one
    path component under ``flavour``'s rules (default: the running system's): two
    distinct accepted keys then never share a local path, and none leaves the root.
    """
    rules = flavour or platform_flavour()
    if "\0" in relative:
        raise _refusal(relative, "it holds a NUL character")
    segments = relative.split("/")
    for segment in segments:
        _check_segment(segment, relative, windows=issubclass(rules, PureWindowsPath))
    path = rules(*segments)
    if path.is_absolute() or path.anchor or path.parts != tuple(segments):
        raise _refusal(relative, "it is not a plain relative path here")
    return path


def local_name(key: str, flavour: type[PurePath] | None = None) -> str:
    """The file name for one downloaded object: the key's last segment, if it is one
    ``local_path`` accepts."""
    return local_path(key.rsplit("/", 1)[-1], flavour).name


def check_copied_tail(key: str, destination: str) -> None:
    """Refuse a destination that a path library built by copying a key's tail onto a
    local folder (fsspec's recursive ``get`` does), when that tail is not a faithful
    relative path: the key's own ``..``, ``.`` or empty segments would otherwise walk out
    of the folder or alias another file. A destination the caller spelt out is left be.
    """
    segments = key.split("/")
    written = destination.replace(os.sep, "/")
    for start in range(len(segments)):
        tail = "/".join(segments[start:])
        if written.endswith("/" + tail) or written == tail:
            local_path(tail)
            return


def _check_segment(segment: str, relative: str, *, windows: bool) -> None:
    if segment in _SPECIAL_SEGMENTS:
        what = "an empty segment" if not segment else f"a {segment!r} segment"
        raise _refusal(relative, f"it has {what}, which would not name a file of its own")
    if windows:
        _check_windows_segment(segment, relative)


def _check_windows_segment(segment: str, relative: str) -> None:
    """Windows gives ``\\``, ``:`` (drives, alternate data streams), wildcards, device
    names and trailing dots or spaces a meaning of their own."""
    bad = sorted(set(segment) & _WINDOWS_FORBIDDEN)
    if bad:
        raise _refusal(relative, f"it holds {''.join(bad)!r}, which Windows file names cannot hold")
    if segment[-1] in ". ":
        raise _refusal(relative, "a segment ends in a dot or space, which Windows drops")
    if segment.split(".", 1)[0].rstrip(" ").upper() in _WINDOWS_DEVICES:
        raise _refusal(relative, f"{segment!r} names a Windows device")


def _refusal(relative: str, why: str) -> LocalPathError:
    return LocalPathError(f"cannot make a local file of {_shown(relative)}: {why}")


def _shown(relative: str) -> str:
    return repr(relative) if len(relative) <= 200 else f"{relative[:200]!r}..."


def prepare_parent(root: Path, relative: PurePath) -> Path:
    """Create the directories of ``root/relative`` and return where to write the file.

    Each directory is checked after it is made or found: if its real path (symlinks
    resolved) is outside ``root``'s, nothing is written. The path returned runs through
    real directories only, so a symlink met on the way is not followed again later. A
    symlink as the file itself is fine when the download's rename can replace it; one
    to a device, pipe or directory is refused, as writing would go through it.
    """
    root.mkdir(parents=True, exist_ok=True)
    base = os.path.realpath(root)
    current = base
    for segment in relative.parts[:-1]:
        current = _enter_directory(current, segment, base, root, relative)
    target = Path(current, relative.name)
    _refuse_link_to_special(target, relative)
    return target


def _enter_directory(current: str, segment: str, base: str, root: Path, relative: PurePath) -> str:
    step = os.path.join(current, segment)
    with contextlib.suppress(FileExistsError):
        os.mkdir(step)
    real = os.path.realpath(step)
    if not _within(real, base):
        raise LocalPathError(
            f"{os.path.relpath(step, base)} leads outside {root} (a "
            f"symbolic link): not writing {relative}"
        )
    if not os.path.isdir(real):
        raise LocalPathError(
            f"{os.path.relpath(step, base)} under {root} is not a "
            f"directory: cannot write {relative}"
        )
    return real


def _within(path: str, base: str) -> bool:
    path, base = os.path.normcase(path), os.path.normcase(base)
    return os.path.commonpath([path, base]) == base


def _refuse_link_to_special(target: Path, relative: PurePath) -> None:
    if not target.is_symlink():
        return
    try:
        mode = target.stat().st_mode
    except OSError:
        return  # a dangling link: the rename replaces it
    if not stat.S_ISREG(mode):
        raise LocalPathError(
            f"{relative} is a symbolic link to a directory, device or pipe: not writing through it"
        )


class PathClaims:
    """The local paths given out so far in one download of many objects.

    Distinct keys that ``local_path`` accepts map to distinct paths; this also refuses
    a key whose path equals one already given under the flavour's own comparison
    (Windows compares names case-insensitively), rather than let two objects share a
    file and one silently replace the other.
    """

    def __init__(self, flavour: type[PurePath] | None = None) -> None:
        self._flavour = flavour
        self._owners: dict[PurePath, str] = {}

    def claim(self, relative: str) -> PurePath:
        """The local path for ``relative`` (a key's part below the prefix), now taken."""
        path = local_path(relative, self._flavour)
        owner = self._owners.setdefault(path, relative)
        if owner != relative:
            raise _refusal(relative, f"{_shown(owner)} is written to the same local file")
        return path
