"""What a one-round-trip ranged read asks for before it knows the object's size holds
what the verified plan needs, for every size and every kind of range; and the window
feeds the verifier exactly the plan's chunks."""

from __future__ import annotations

import pytest

from s3cse.core import integrity, prefetch
from s3cse.core.errors import RangeNotSatisfiableError
from s3cse.core.ranges import ByteRange
from s3cse.core.reads import plan_indexed_range

C = integrity.CHUNK_SIZE
SIZES = sorted({1, 15, 16, 17, C - 1, C, C + 1, 3 * C, 3 * C + 7, 5 * C - 16, 7 * C + 123})
RANGES = [
    "bytes=0-0",
    "bytes=0-",
    "bytes=5-9",
    f"bytes={C - 1}-{C}",
    f"bytes={C}-",
    f"bytes={2 * C + 3}-{4 * C}",
    f"bytes=100-{10 * C}",
    "bytes=-1",
    "bytes=-16",
    f"bytes=-{C}",
    f"bytes=-{C + 1}",
    f"bytes=-{3 * C + 5}",
    f"bytes=-{100 * C}",
]


def s3_answer(header: str, size: int) -> tuple[int, int, int] | None:
    """What S3 returns for ``header`` on an object of ``size`` bytes (None: 416)."""
    first_text, last_text = header.removeprefix("bytes=").split("-")
    if first_text == "":
        n = int(last_text)
        return (max(size - n, 0), size - 1, size) if n and size else None
    first = int(first_text)
    if first >= size:
        return None
    last = size - 1 if last_text == "" else min(int(last_text), size - 1)
    return first, last, size


@pytest.mark.parametrize("plaintext_size", SIZES)
@pytest.mark.parametrize("header", RANGES)
def test_a_prefetch_holds_what_the_verified_plan_needs(plaintext_size: int, header: str) -> None:
    requested = ByteRange.parse(header)
    stored = plaintext_size + 16
    try:
        plan = plan_indexed_range(requested, header, stored)
    except RangeNotSatisfiableError:
        return
    ahead = prefetch.prefetch(requested)
    assert ahead is not None
    chunks = s3_answer(ahead.object_range, stored)
    assert chunks is not None
    assert prefetch.holds(chunks, prefetch.object_span(plan), stored)
    index_size = integrity.index_length(stored, 16)
    entries = s3_answer(ahead.entries_range or f"bytes=0-{ahead.header_span - 1}", index_size)
    assert entries is not None
    assert prefetch.holds(entries, prefetch.entries_span(plan), index_size)
    # never more than the range needs, and a chunk and a block
    if requested.last is not None or requested.suffix is not None:
        assert chunks[1] - chunks[0] <= (plan.chunk_last - plan.chunk_first + 2) * C + 16


def test_a_read_to_the_end_asks_for_a_window_of_entries_only() -> None:
    window = prefetch.ENTRY_WINDOW
    ahead = prefetch.prefetch(ByteRange.parse("bytes=0-"))
    assert ahead == prefetch.Prefetch("bytes=0-", integrity.HEADER_SIZE + window * 16)
    ahead = prefetch.prefetch(ByteRange.parse(f"bytes={window * C}-"))
    assert ahead is not None
    assert ahead.entries_range == integrity.entries_range(window, 2 * window - 1)
    assert ahead.header_span == integrity.HEADER_SIZE


@pytest.mark.parametrize(
    ("header", "span"),
    [
        ("bytes=0-9", 72 + 16),
        (f"bytes={C}-{3 * C}", 72 + 4 * 16),
        ("bytes=1-", 72 + 4096 * 16),
        (f"bytes={3 * C}-", 72 + 4096 * 16),
    ],
)
def test_entries_in_the_first_window_come_with_the_header(header: str, span: int) -> None:
    ahead = prefetch.prefetch(ByteRange.parse(header))
    assert ahead is not None and ahead.entries_range is None and ahead.header_span == span
    far = prefetch.prefetch(ByteRange.parse(f"bytes={4096 * C}-{4096 * C}"))
    assert far is not None and far.entries_range == integrity.entries_range(4096, 4096)
    across = prefetch.prefetch(ByteRange.parse(f"bytes={4095 * C}-{5000 * C}"))
    assert across is not None and across.entries_range == integrity.entries_range(4095, 5000)


def test_an_empty_suffix_is_left_to_the_sequential_read() -> None:
    assert prefetch.prefetch(ByteRange.parse("bytes=-0")) is None


def test_what_is_not_held_is_said() -> None:
    assert not prefetch.holds((10, 99, 100), (5, 50), 100)
    assert not prefetch.holds((0, 40, 100), (5, 50), 100)
    assert not prefetch.holds((0, 99, 101), (5, 50), 100)
    assert prefetch.holds((0, 99, 100), (5, 50), 100)


class Recorder:
    def __init__(self) -> None:
        self.fed = b""
        self.finalized = False

    def update(self, data: bytes) -> bytes:
        self.fed += data
        return data

    def finalize(self) -> bytes:
        self.finalized = True
        return b""


@pytest.mark.parametrize("step", [1, 7, 4096, 10**6])
def test_the_window_feeds_only_the_span(step: int) -> None:
    stream = bytes(range(256)) * 40  # offsets 1000 .. 11239
    inner = Recorder()
    window = prefetch.Window(inner, 1000, (3000, 9999))  # type: ignore[arg-type]
    out = b"".join(window.update(stream[i : i + step]) for i in range(0, len(stream), step))
    window.finalize()
    assert inner.fed == out == stream[2000:9000] and inner.finalized
