"""Sidecar objects, and user objects that only look like them.

Beside an object ``KEY`` s3cse may keep ``KEY.instruction`` (the AWS instruction file:
the wrapped data key as JSON) and ``KEY.s3cse-index`` (the integrity index, ``integrity``).
A bucket may just as well hold a user's own object by one of those names (a file
``setup.instruction`` uploaded beside ``setup``); that object must never be hidden,
skipped, overwritten or deleted because of its name. Everything that tells the two
apart lives here, without I/O, so that the clients, the CLI, the filesystem and the
lifecycle jobs decide the same way:

* **by name**: only ``OWNER + suffix`` whose owner exists can be a sidecar;
* **by size, from a listing**: an index has exactly the length its owner's size
  implies, an instruction file at most ``MAX_INSTRUCTION_FILE_SIZE`` bytes;
* **by content**, only for names the first two leave open: a sidecar carries no
  encryption metadata of its own (a user's object stored through an S3 encryption
  client does), an index starts with the index magic, an instruction file is one JSON
  map of S3EC fields.

Listings stay cheap: an index of the expected size is recognised without a request;
only instruction-file-like names beside a listed object cost one small GET.

An object that cannot be looked at (SSE-C under another key, no read permission) is
``UNREADABLE``: its name decides, as it always did.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from . import integrity, metadata
from .errors import ConfigurationError, MetadataError
from .suites import GCM_HKDF_COMMIT

INSTRUCTION_SUFFIX = metadata.DEFAULT_INSTRUCTION_SUFFIX
INDEX_SUFFIX = integrity.SUFFIX
SUFFIXES = (INSTRUCTION_SUFFIX, INDEX_SUFFIX)
GCM_TAG = GCM_HKDF_COMMIT.tag_length
"""Every object that can have an index is AES-GCM: its stored size includes the tag."""


class Kind(enum.Enum):
    """What is stored under a sidecar's name."""

    ABSENT = "absent"
    SIDECAR = "sidecar"
    USER_OBJECT = "user object"
    UNREADABLE = "unreadable"
    """It exists but could not be read: its name decides."""


def split_name(key: str) -> tuple[str, str] | None:
    """(owner, suffix) when ``key`` is named like a sidecar, else None."""
    for suffix in SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            return key[: -len(suffix)], suffix
    return None


# ---------------------------------------------------------------------- probing


def probe_range(suffix: str) -> str:
    """The Range of the GET that tells a sidecar from a user object: an index's header,
    or as much as an instruction file can hold (one byte more shows it is longer)."""
    if suffix == INDEX_SUFFIX:
        return f"bytes=0-{integrity.HEADER_SIZE - 1}"
    return f"bytes=0-{metadata.MAX_INSTRUCTION_FILE_SIZE}"


def kind_of(suffix: str, object_metadata: Mapping[str, str], data: bytes) -> Kind:
    """Sidecar or user object, from the object's user metadata and its first bytes (as
    ``probe_range`` fetched them; empty for an empty object).

    An index too short to hold its magic is a damaged sidecar (a read of its owner then
    fails as tampering); any other object not starting with the magic is not an index.
    """
    if metadata.is_encrypted({k.lower(): v for k, v in object_metadata.items()}):
        return Kind.USER_OBJECT  # encrypted itself: a sidecar never is
    if suffix == INDEX_SUFFIX:
        if len(data) < len(integrity.MAGIC) or data.startswith(integrity.MAGIC):
            return Kind.SIDECAR
        return Kind.USER_OBJECT
    try:
        metadata.parse_instruction_file(data)
    except MetadataError:
        return Kind.USER_OBJECT
    return Kind.SIDECAR


# ---------------------------------------------------------------------- existence

NAMES_LISTED = 100
"""How many keys the listing that looks for an object's sidecar names asks for."""


def names_query(names: Collection[str]) -> dict[str, Any]:
    """ListObjectsV2 arguments whose answer shows which of ``names`` exist: the keys
    under their common prefix from just before the first of them, in one request."""
    first, last = min(names), max(names)
    shared = next(
        (i for i, (a, b) in enumerate(zip(first, last, strict=False)) if a != b),
        min(len(first), len(last)),
    )  # the common prefix of the first and last name is that of all
    return {
        "Prefix": first[:shared],
        "StartAfter": first[:-1],
        "MaxKeys": NAMES_LISTED,
    }


def names_listed(names: Collection[str], page: Mapping[str, Any]) -> set[str] | None:
    """Which of ``names`` the answer to ``names_query`` lists; None when it stopped
    before the last of them (many keys in between), and only a look at each can tell."""
    keys = {str(item["Key"]) for item in page.get("Contents", [])}
    if page.get("IsTruncated") and max(keys, default="") < max(names):
        return None
    return keys & set(names)


# ---------------------------------------------------------------------- listings


def listing_kind(key: str, size: int, listed: Mapping[str, int]) -> Kind | None:
    """What a listing alone says of ``key`` (``listed``: key -> stored size of the
    objects listed before it): ``USER_OBJECT`` when it is not named like a sidecar of a
    listed object or is too large to be one, ``SIDECAR`` for an index of exactly the
    length its owner needs, None when only its content can tell."""
    named = split_name(key)
    if named is None or named[0] not in listed:
        return Kind.USER_OBJECT
    owner, suffix = named
    if suffix == INDEX_SUFFIX:
        owner_size = listed[owner]
        if owner_size >= GCM_TAG and size == integrity.index_length(owner_size, GCM_TAG):
            return Kind.SIDECAR
        return None  # a stale or damaged index, or a user object: look
    if size > metadata.MAX_INSTRUCTION_FILE_SIZE:
        return Kind.USER_OBJECT
    return None


def hidden_in_listing(kinds: Mapping[str, Kind]) -> set[str]:
    """The keys a listing leaves out: sidecars, and objects only their name tells."""
    return {key for key, kind in kinds.items() if kind in (Kind.SIDECAR, Kind.UNREADABLE)}


def listing_kinds(
    entries: Iterable[tuple[str, int]], listed: dict[str, int] | None = None
) -> tuple[dict[str, Kind], list[str]]:
    """Kinds of the entries (key, stored size) a listing alone decides, and the keys
    whose content must be looked at. ``listed`` carries the sizes seen so far across
    pages (an object is always listed before its sidecars: its key is their prefix)."""
    seen = {} if listed is None else listed
    decided: dict[str, Kind] = {}
    undecided: list[str] = []
    for key, size in entries:
        kind = listing_kind(key, size, seen)
        if kind is None:
            undecided.append(key)
        else:
            decided[key] = kind
        seen[key] = size
    return decided, undecided


# ---------------------------------------------------------------------- writing


def removable(kind: Kind) -> bool:
    """Whether a write or delete of the owner may remove what is under a sidecar name."""
    return kind in (Kind.SIDECAR, Kind.UNREADABLE)


def removable_suffixes(kinds: Mapping[str, Kind]) -> list[str]:
    """The suffixes under which ``kinds`` found sidecars (or what only a name tells)."""
    return [suffix for suffix, kind in kinds.items() if removable(kind)]


def stale_after_write(
    bucket: str, key: str, existing: Mapping[str, Kind], writing: Collection[str]
) -> list[str]:
    """The suffixes whose sidecars a write of ``key`` leaves stale, to be removed once
    the object is written; refuses, before anything is written, a sidecar that would
    overwrite a user's object."""
    for suffix in writing:
        if existing.get(suffix) is Kind.USER_OBJECT:
            raise overwrite_refused(bucket, key, suffix)
    return [suffix for suffix in removable_suffixes(existing) if suffix not in writing]


def overwrite_refused(bucket: str, key: str, suffix: str) -> ConfigurationError:
    """Why ``key`` is not written: its sidecar would overwrite a user's object."""
    return ConfigurationError(
        f"s3://{bucket}/{key + suffix} is an object of its own (not a sidecar of {key!r}); "
        f"writing {key!r} with its {describe(suffix)} would overwrite it. Nothing was "
        "written",
        bucket=bucket,
        key=key,
        hint=f"Rename or move {key + suffix!r} first, or write {key!r} without "
        f"{'an instruction file' if suffix == INSTRUCTION_SUFFIX else 'an integrity index'}",
    )


def describe(suffix: str) -> str:
    return "instruction file" if suffix == INSTRUCTION_SUFFIX else "integrity index"


# ---------------------------------------------------------------------- liveness


def needs_instruction_file(owner_metadata: Mapping[str, str]) -> bool:
    """Whether the owner is read through its instruction file: it carries no wrapped
    key in its metadata, or the marker some AWS clients set."""
    lowered = {k.lower(): v for k, v in owner_metadata.items()}
    return metadata.needs_instruction_file(lowered) or metadata.INSTRUCTION_MARKER in lowered
