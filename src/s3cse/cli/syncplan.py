"""Whether ``sync`` copies a path that both sides have: the AWS CLI's rules, on plaintext
sizes. Pure: the caller lists both sides, and looks an object up (a HEAD) only when
this says its listed size is not enough to decide.

As ``aws s3 sync``: a path is copied when the sizes differ, or by modification time: an
upload or copy when the source is newer than the destination; a download when the
local file is newer than the object (``exact_timestamps``: unless the times are
equal). S3 keeps LastModified to the second, so times are compared in whole seconds:
a file written and uploaded within one second is not taken for a newer one.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from datetime import datetime


class Direction(enum.Enum):
    UPLOAD = "upload"
    DOWNLOAD = "download"
    COPY = "copy"


class Decision(enum.Enum):
    COPY = "copy"
    SKIP = "skip"
    LOOK = "look"
    """The listed sizes disagree but one is only assumed: look the object up first."""


@dataclass(frozen=True)
class Version:
    """One side's copy of a path.

    ``size`` is the plaintext size, or the smallest it can be when ``size_max`` is set
    (a legacy AES-CBC object: the padding hides up to 16 bytes); ``assumed``: the size
    is what a listing implies for AES-GCM (stored less the tag), not looked up.
    ``mtime``: seconds since the epoch."""

    size: int
    mtime: float
    size_max: int | None = None
    assumed: bool = False


def epoch(value: datetime | float) -> float:
    return value.timestamp() if isinstance(value, datetime) else float(value)


def decide(
    direction: Direction,
    source: Version,
    destination: Version,
    *,
    size_only: bool = False,
    exact_timestamps: bool = False,
) -> Decision:
    if not size_only and not _same_time(direction, source, destination, exact_timestamps):
        return Decision.COPY
    if _sizes_agree(source, destination):
        return Decision.SKIP
    if source.assumed or destination.assumed:
        return Decision.LOOK
    return Decision.COPY


def _sizes_agree(a: Version, b: Version) -> bool:
    """Whether the two can be the same size: their possible sizes overlap."""
    a_max = a.size if a.size_max is None else a.size_max
    b_max = b.size if b.size_max is None else b.size_max
    return a.size <= b_max and b.size <= a_max


def _same_time(direction: Direction, source: Version, destination: Version, exact: bool) -> bool:
    """Whether the times let the destination stand (``aws s3 sync``'s rule per direction)."""
    src, dst = math.floor(source.mtime), math.floor(destination.mtime)
    if direction is Direction.DOWNLOAD:
        return dst == src if exact else dst <= src
    return dst >= src
