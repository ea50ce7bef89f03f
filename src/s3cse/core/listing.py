"""Listings as users see them, without I/O: the CLI, the ``s3cse://`` filesystem and the
lifecycle jobs show plaintext sizes, hide the sidecars of listed objects (``sidecars``
decides which) and treat keys as paths the same way."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from .sidecars import GCM_TAG, SUFFIXES

E = TypeVar("E")


def assumed_plaintext_size(stored: int) -> tuple[int, str]:
    """A listed object's plaintext size, with no request of its own (as Hadoop S3A
    does): its stored size less the GCM tag; and how that size was found. An object
    shorter than a tag is not encrypted."""
    if stored < GCM_TAG:
        return stored, "not-encrypted"
    return stored - GCM_TAG, "assumed-gcm"


def visible(entries: Iterable[tuple[E, bool]]) -> Iterator[E]:
    """The entries of a listing (entry, is a sidecar) that are not sidecars."""
    return (entry for entry, sidecar in entries if not sidecar)


def sidecar_names(keys: Iterable[str], *, besides: Iterable[str] = ()) -> list[str]:
    """Every name a sidecar of ``keys`` would have, except those in ``besides``."""
    taken = set(besides)
    return [key + suffix for key in keys for suffix in SUFFIXES if key + suffix not in taken]


def is_folder_marker(key: str, stored_size: int) -> bool:
    """An empty object whose key ends in ``/``: what consoles make for a "folder"."""
    return key.endswith("/") and stored_size == 0


def stored_size(entry: dict[str, Any]) -> int:
    """The ``Size`` of a ListObjectsV2 entry (absent or None counts as empty)."""
    return int(entry.get("Size") or 0)


def dir_prefix(key: str) -> str:
    """``p`` and ``p/`` both mean the "directory" ``p/``; the empty key the whole bucket."""
    return key if not key or key.endswith("/") else key + "/"


def join_key(prefix: str, relative: str) -> str:
    """``relative`` under the "directory" ``prefix`` (with one ``/`` between)."""
    if not prefix:
        return relative
    return prefix + relative if prefix.endswith("/") else f"{prefix}/{relative}"
