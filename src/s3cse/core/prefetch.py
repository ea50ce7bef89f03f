"""A ranged read through an integrity index in one round trip, planned without I/O.

The index header, the index entries and the object's chunks are requested at once, from
the Range alone: before the header verifies nothing tells the object's size, so each
request asks for what covers the range whatever that size (``Prefetch``). Entries in the
index's first window (those of the object's first GiB) are read with the header, in one
request, and so is a suffix's when the whole index is that small: such a range costs two
GETs, any other three, or, for a suffix of an object over 1 GiB, a second round trip
for its entries. Once the
header MAC verifies against the object's metadata (which the object's own GET carries)
and the sizes agree, the exact plan is made (``reads.plan_indexed_range``) and taken out
of what arrived (``Window``, ``entries_window``); what arrived is checked to hold it,
else the caller fetches exactly what is missing. Nothing of the index is used before its
header verifies, and no more entries are asked for than the range can need (a read to
the end: a window of them, 64 KiB for 1 GiB of object), so a forged sidecar still cannot
make a read pull more than its range asks for.

What a suffix read (``bytes=-N``) costs beyond the sequential plan: up to one chunk
(256 KiB) of ciphertext more, since the chunk boundary before the range is not known.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import integrity
from .gcm import BLOCK
from .indexed import ENTRY_WINDOW
from .ranges import ByteRange
from .reads import IndexedRange

CHUNK, MAC = integrity.CHUNK_SIZE, integrity.MAC_LENGTH


@dataclass(frozen=True)
class Prefetch:
    """The requests sent at once for a range through an index."""

    object_range: str
    """Object ciphertext: a span that holds every chunk the range can touch."""
    header_span: int = integrity.HEADER_SIZE
    """Bytes read from the start of the index: the header, and when the range's entries
    lie in the first window after it, those too (then no request of their own)."""
    entries_range: str | None = None
    """Index entries, when not read with the header: a span that holds those of every
    chunk the range can touch."""


def prefetch(requested: ByteRange) -> Prefetch | None:
    """What to request before the object's size is known; None for an empty suffix
    (which no object satisfies: the sequential read reports it)."""
    if requested.suffix is not None:
        n = requested.suffix
        if n <= 0:
            return None
        # the last n plaintext bytes and the tag, from the chunk boundary before them;
        # the whole index of an object of up to 1 GiB (more: its last entries on their own)
        whole_index = integrity.HEADER_SIZE + ENTRY_WINDOW * MAC + integrity.TRAILER_SIZE
        return Prefetch(f"bytes=-{n + BLOCK + CHUNK - 1}", whole_index)
    assert requested.first is not None
    first_chunk = requested.first // CHUNK
    object_start = first_chunk * CHUNK
    if requested.last is None:
        # to the end: a window of entries, never as many as a forged sidecar may claim
        last_chunk = first_chunk + ENTRY_WINDOW - 1
        object_range = f"bytes={object_start}-"
    else:
        last_chunk = requested.last // CHUNK
        object_range = f"bytes={object_start}-{(last_chunk + 1) * CHUNK - 1}"
    # entries in the first window (1 GiB of object) come with the header; a read to the
    # end from there gets the rest of that window, and the others only if it needs them
    if last_chunk < ENTRY_WINDOW or (requested.last is None and first_chunk < ENTRY_WINDOW):
        window_end = min(last_chunk, ENTRY_WINDOW - 1)
        return Prefetch(object_range, integrity.HEADER_SIZE + (window_end + 1) * MAC)
    return Prefetch(object_range, entries_range=integrity.entries_range(first_chunk, last_chunk))


def object_span(plan: IndexedRange) -> tuple[int, int]:
    """First and last ciphertext byte the verified plan reads."""
    first = plan.chunk_first * CHUNK
    return first, min((plan.chunk_last + 1) * CHUNK, plan.plaintext_size) - 1


def entries_span(plan: IndexedRange) -> tuple[int, int]:
    """First and last byte of the index entries the verified plan checks against."""
    first = integrity.HEADER_SIZE + plan.chunk_first * MAC
    return first, first + (plan.chunk_last - plan.chunk_first + 1) * MAC - 1


def holds(received: tuple[int, int, int], span: tuple[int, int], total: int) -> bool:
    """Whether what S3 returned (first, last byte, whole size) holds ``span`` of an
    object of ``total`` bytes."""
    first, last, size = received
    return size == total and first <= span[0] and last >= span[1]


class Window:
    """Feeds ``inner`` only the bytes ``span`` of a stream that starts at ``start``:
    what a prefetch fetched before and after the plan's chunks is dropped."""

    def __init__(self, inner: integrity.VerifiedRange, start: int, span: tuple[int, int]):
        self._inner = inner
        self._at, self._first, self._last = start, span[0], span[1]

    def update(self, data: bytes) -> bytes:
        lo = max(self._first - self._at, 0)
        hi = max(min(self._last + 1 - self._at, len(data)), 0)
        self._at += len(data)
        return self._inner.update(data[lo:hi]) if lo < hi else b""

    def finalize(self) -> bytes:
        return self._inner.finalize()
