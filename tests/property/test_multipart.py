"""Multipart plans (``core.multipart``): parts cover an object exactly, within S3's limits of
10,000 parts of at least 5 MiB, and a stream of unknown length is cut the same way
whatever its reads return."""

from __future__ import annotations

import itertools
import random
from typing import IO, cast
from unittest import mock

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from s3cse.core import multipart
from s3cse.core.errors import ConfigurationError, ContentTooLargeError
from s3cse.core.gcm import BLOCK
from s3cse.core.integrity import CHUNK_SIZE
from s3cse.core.multipart import (
    MAX_PARTS,
    MIN_PART_SIZE,
    PartBuffers,
    StreamCutter,
    TransferConfig,
    part_size_for,
    plan_parts,
    upload_part_size,
)
from s3cse.core.suites import GCM_MAX_PLAINTEXT
from s3cse.io.running import fill_part

MiB = 1024 * 1024
CHUNKSIZES = st.sampled_from([MIN_PART_SIZE, 8 * MiB]) | st.integers(
    MIN_PART_SIZE // BLOCK, 64 * MiB // BLOCK
).map(lambda blocks: blocks * BLOCK)
CONFIGS = st.builds(TransferConfig, multipart_chunksize=CHUNKSIZES)


@st.composite
def sizes(draw: st.DrawFn) -> int:
    """Any size GCM allows, often next to where the part count reaches 10,000 parts
    of a whole number of MiB (where growing the part size goes wrong)."""
    near_limit = draw(st.integers(1, GCM_MAX_PLAINTEXT // (MAX_PARTS * MiB))) * MAX_PARTS * MiB
    return draw(
        st.integers(0, GCM_MAX_PLAINTEXT)
        | st.integers(0, 64 * MiB)
        | st.integers(near_limit - 2, min(near_limit + 2, GCM_MAX_PLAINTEXT))
    )


SIZES = sizes()


def parts_of(size: int, part: int) -> int:
    return -(-size // part)


@given(size=SIZES, config=CONFIGS, indexed=st.booleans())
def test_parts_cover_the_object_exactly_within_s3_limits(
    size: int, config: TransferConfig, indexed: bool
) -> None:
    part = upload_part_size(size, config, indexed)
    plan = plan_parts(size, part)
    assert len(plan) <= MAX_PARTS
    assert plan[0][0] == 0 and sum(length for _, length in plan) == size
    for (offset, length), (next_offset, _) in itertools.pairwise(plan):  # no gap, no overlap
        assert next_offset == offset + length
        # every part but the last: S3's minimum, whole GCM blocks, whole index chunks
        assert length == part >= MIN_PART_SIZE and length % BLOCK == 0
        assert not indexed or length % CHUNK_SIZE == 0
    assert 0 < plan[-1][1] <= part or size == 0


@given(size=SIZES, config=CONFIGS)
@example(size=6 * MAX_PARTS * MiB + 1, config=TransferConfig(multipart_chunksize=MIN_PART_SIZE))
def test_the_part_size_grows_only_as_far_as_the_part_limit_needs(
    size: int, config: TransferConfig
) -> None:
    part = part_size_for(size, config)
    assert part >= config.multipart_chunksize and part % BLOCK == 0
    assert parts_of(size, part) <= MAX_PARTS
    if part > config.multipart_chunksize:  # grown, in MiB steps, by no more than needed
        assert part % MiB == 0 and parts_of(size, part - MiB) > MAX_PARTS
    assert part_size_for(None, config) == config.multipart_chunksize  # a stream: unknown


@given(size=SIZES | st.none(), config=CONFIGS)
def test_an_indexed_upload_rounds_parts_up_to_whole_chunks(
    size: int | None, config: TransferConfig
) -> None:
    plain = upload_part_size(size, config, indexed=False)
    indexed = upload_part_size(size, config, indexed=True)
    assert plain == part_size_for(size, config)
    assert indexed % CHUNK_SIZE == 0 and plain <= indexed < plain + CHUNK_SIZE


class ShortReads:
    """A pipe: each read returns anything from one byte to what was asked."""

    def __init__(self, data: bytes, seed: int) -> None:
        self._data, self._at, self._rng = data, 0, random.Random(seed)

    def read(self, size: int) -> bytes:
        step = self._rng.randint(1, max(size, 1))
        chunk = self._data[self._at : self._at + min(step, size)]
        self._at += len(chunk)
        return chunk


def cut(data: bytes, ahead: int, part: int, limit: int, seed: int) -> list[tuple[int, bytes, bool]]:
    """(offset, bytes, last) of each part cut from ``data``, ``ahead`` bytes read ahead,
    in buffers reused as the upload reuses them."""
    cutter = StreamCutter(data[:ahead], part, limit)
    source = cast(IO[bytes], ShortReads(data[ahead:], seed))
    buffers, parts = PartBuffers(part), []
    while not parts or not parts[-1][2]:
        buffer = buffers.take()
        cutter.begin(buffer)
        fill_part(cutter, source)
        offset, length, last = cutter.cut()
        parts.append((offset, bytes(buffer[:length]), last))
        buffers.give(buffer)
    return parts


@settings(max_examples=200, deadline=None)
@given(
    size=st.integers(0, 400),
    part=st.integers(1, 64),
    ahead=st.integers(0, 400),
    seed=st.integers(0, 2**32),
)
def test_a_stream_is_cut_into_full_parts_and_one_last(
    size: int, part: int, ahead: int, seed: int
) -> None:
    data = random.Random(seed).randbytes(size)
    parts = cut(data, min(ahead, size), part, limit=size, seed=seed)
    assert b"".join(content for _, content, _ in parts) == data
    assert [last for _, _, last in parts] == [False] * (len(parts) - 1) + [True]
    assert [offset for offset, _, _ in parts] == [part * i for i in range(len(parts))]
    assert all(len(content) == part for _, content, _ in parts[:-1])
    assert len(parts) == max(parts_of(size, part), 1)  # never an empty last part after a full one


@settings(max_examples=200, deadline=None)
@given(
    size=st.integers(1, 300),
    limit=st.integers(0, 300) | st.integers(0, 18).map(lambda parts: parts * 16),
    seed=st.integers(0, 2**32),
)
@example(size=48, limit=32, seed=0)  # a part ending on the limit, with more to come
def test_a_stream_past_its_limit_is_refused_before_a_part_past_it_goes(
    size: int, limit: int, seed: int
) -> None:
    cutter = StreamCutter(b"", 16, limit)
    source = cast(IO[bytes], ShortReads(bytes(size), seed))
    read, last = [], False  # how much of the stream was read when each part was cut
    try:
        while not last:
            cutter.begin(bytearray(16))
            fill_part(cutter, source)
            offset, length, last = cutter.cut()
            read.append(offset + length + (0 if last else 1))  # a part's last byte is probed
    except ContentTooLargeError:
        assert size > limit
    else:
        assert size <= limit
    assert all(count <= limit for count in read)  # no part goes once the limit is passed


@settings(max_examples=100, deadline=None)
@given(size=st.integers(0, 200), most=st.integers(1, 8), seed=st.integers(0, 2**32))
def test_a_stream_needing_more_parts_than_allowed_is_refused(
    size: int, most: int, seed: int
) -> None:
    data = bytes(size)
    with mock.patch.object(multipart, "MAX_PARTS", most):
        if max(parts_of(size, 16), 1) <= most:
            assert len(cut(data, 0, 16, size, seed)) == max(parts_of(size, 16), 1)
        else:
            with pytest.raises(ConfigurationError, match=f"more than {most} parts"):
                cut(data, 0, 16, size, seed)


@given(steps=st.lists(st.booleans(), max_size=60))
def test_part_buffers_never_hand_out_a_buffer_in_use(steps: list[bool]) -> None:
    """Take (True) and give back (False) in any order: a buffer in use is never handed
    out again, and no more are made than were ever in use at once."""
    buffers, in_use, made, most = PartBuffers(32), [], set(), 0
    for take in steps:
        if take or not in_use:
            buffer = buffers.take()
            assert len(buffer) == 32 and all(buffer is not other for other in in_use)
            in_use.append(buffer)
            made.add(id(buffer))
            most = max(most, len(in_use))
        else:
            buffers.give(in_use.pop(0))
    assert len(made) == most
