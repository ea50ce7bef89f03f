"""The integrity index (``core.integrity``) and the ranged reads planned through it
(``reads.plan_indexed_range``): what is built parses back, any altered byte is refused,
and a range fetches exactly the chunks and entries it needs."""

from __future__ import annotations

import os
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from s3cse.core import integrity, ranges, reads
from s3cse.core.ciphers import GcmEncryptor, new_content_key
from s3cse.core.errors import RangeNotSatisfiableError
from s3cse.core.integrity import (
    CHUNK_SIZE,
    HEADER_SIZE,
    MAC_LENGTH,
    TRAILER_SIZE,
    ChunkMacer,
    IndexKey,
    IndexMismatchError,
    SidecarHeader,
)
from s3cse.core.suites import GCM_HKDF_COMMIT

from .s3_ranges import range_headers, s3_answer

TAG = 16
MAX_CHUNKS = 3  # objects of up to three chunks and a bit: every chunk boundary case
SIZES = st.integers(0, MAX_CHUNKS * CHUNK_SIZE + 1000)


def offsets(low: int, high: int) -> st.SearchStrategy[int]:
    """Offsets in ``low..high``, often next to a chunk boundary (where plans go wrong)."""
    near_boundary = st.builds(
        lambda chunk, delta: min(max(chunk * CHUNK_SIZE + delta, low), high),
        st.integers(low // CHUNK_SIZE, high // CHUNK_SIZE + 1),
        st.integers(-2, 1),
    )
    return st.integers(low, high) | near_boundary


def index_key() -> IndexKey:
    return IndexKey(os.urandom(32), os.urandom(32))


def fake_macs(plaintext_size: int) -> list[bytes]:
    return [os.urandom(MAC_LENGTH) for _ in range(integrity.entry_count(plaintext_size + TAG, TAG))]


def flip(data: bytes, offset: int, bit: int) -> bytes:
    out = bytearray(data)
    out[offset] ^= 1 << bit
    return bytes(out)


@given(plaintext_size=offsets(0, 2**36))
def test_an_index_parses_back_to_its_size_and_entries(plaintext_size: int) -> None:
    stored = plaintext_size + TAG
    count = integrity.entry_count(stored, TAG)
    assert count * CHUNK_SIZE >= plaintext_size  # enough entries for the plaintext
    assert count == 0 or (count - 1) * CHUNK_SIZE < plaintext_size  # and none for the tag
    if count > 4096:  # the arithmetic holds for any size; build only indexes of sane length
        return
    key = index_key()
    macs = fake_macs(plaintext_size)
    index = key.build(stored, macs)
    assert len(index) == integrity.index_length(stored, TAG) == HEADER_SIZE + 16 * count + 32
    assert key.check_header(index[:HEADER_SIZE]) == stored
    assert key.check_whole(index, stored, TAG) == macs
    key.check_sizes(SidecarHeader(index[:HEADER_SIZE], len(index), '"e"'), stored, TAG)


@settings(max_examples=300)
@given(plaintext_size=offsets(0, 8 * CHUNK_SIZE), data=st.data())
def test_any_flipped_bit_is_refused(plaintext_size: int, data: st.DataObject) -> None:
    stored = plaintext_size + TAG
    key = index_key()
    index = key.build(stored, fake_macs(plaintext_size))
    offset = data.draw(st.integers(0, len(index) - 1), label="offset")
    altered = flip(index, offset, data.draw(st.integers(0, 7), label="bit"))
    with pytest.raises(IndexMismatchError):
        key.check_whole(altered, stored, TAG)
    if offset < HEADER_SIZE:  # what a ranged read checks before anything else
        with pytest.raises(IndexMismatchError):
            key.check_header(altered[:HEADER_SIZE])


@given(plaintext_size=offsets(0, 8 * CHUNK_SIZE), extra=st.integers(-40, 40))
def test_an_index_of_another_length_or_object_is_refused(plaintext_size: int, extra: int) -> None:
    stored = plaintext_size + TAG
    key = index_key()
    index = key.build(stored, fake_macs(plaintext_size))
    header = index[:HEADER_SIZE]
    if extra:  # grown or cut sidecar, or an object of another size
        with pytest.raises(IndexMismatchError):
            key.check_sizes(SidecarHeader(header, len(index) + extra, '"e"'), stored, TAG)
        if stored + extra >= TAG:
            with pytest.raises(IndexMismatchError, match="size"):
                key.check_sizes(SidecarHeader(header, len(index), '"e"'), stored + extra, TAG)
    with pytest.raises(IndexMismatchError):  # another object's key
        index_key().check_header(header)


@settings(max_examples=300)
@given(plaintext_size=offsets(1, 2**36 - 32), data=st.data())
def test_a_range_plans_exactly_the_chunks_and_entries_it_needs(
    plaintext_size: int, data: st.DataObject
) -> None:
    first = data.draw(offsets(0, plaintext_size - 1), label="first")
    last = data.draw(offsets(first, plaintext_size - 1), label="last")
    header = f"bytes={first}-{last}"
    plan = reads.plan_indexed_range(ranges.ByteRange.parse(header), header, plaintext_size + TAG)
    assert (plan.first, plan.last, plan.plaintext_size) == (first, last, plaintext_size)
    assert plan.stored_size == plaintext_size + TAG
    needed = range(first // CHUNK_SIZE, last // CHUNK_SIZE + 1)
    assert (plan.chunk_first, plan.chunk_last) == (needed[0], needed[-1])
    start, end = s3_answer(plan.object_range, plaintext_size + TAG) or (-1, -1)
    assert start == needed[0] * CHUNK_SIZE <= first
    assert last <= end == min((needed[-1] + 1) * CHUNK_SIZE, plaintext_size) - 1  # no tag
    index_size = integrity.index_length(plaintext_size + TAG, TAG)
    entries = s3_answer(plan.entries_range, index_size)
    assert entries == (
        HEADER_SIZE + needed[0] * MAC_LENGTH,
        HEADER_SIZE + (needed[-1] + 1) * MAC_LENGTH - 1,
    )
    assert entries[1] < index_size - TRAILER_SIZE


@given(size=st.integers(0, 3 * CHUNK_SIZE), data=st.data())
def test_an_unsatisfiable_range_is_refused_before_any_chunk(size: int, data: st.DataObject) -> None:
    header = data.draw(range_headers(size))
    requested = ranges.ByteRange.parse(header)
    if s3_answer(header, size) is None:
        with pytest.raises(RangeNotSatisfiableError):
            reads.plan_indexed_range(requested, header, size + TAG)
    else:
        reads.plan_indexed_range(requested, header, size + TAG)


class IndexedObject:
    """An AES-GCM object and its index, as the upload writes them."""

    def __init__(self, plaintext: bytes, seed: int) -> None:
        new = new_content_key(GCM_HKDF_COMMIT, os.urandom(32))
        self.content_key = new.content_key
        self.key = IndexKey(os.urandom(32), os.urandom(32))
        encryptor = GcmEncryptor(self.content_key)
        self.stored = encryptor.update(plaintext) + encryptor.finalize()
        macer, rng = ChunkMacer(self.key, 0), random.Random(seed)
        body, at = self.stored[:-TAG], 0
        while at < len(body):  # in any chunking
            step = rng.randint(1, CHUNK_SIZE + 5)
            macer.update(body[at : at + step])
            at += step
        self.index = self.key.build(len(self.stored), macer.finalize())

    def read(self, header: str, stored: bytes | None = None) -> bytes:
        """A ranged read through the index, as the shells make it."""
        stored = self.stored if stored is None else stored
        plan = reads.plan_indexed_range(ranges.ByteRange.parse(header), header, len(self.stored))
        start, end = s3_answer(plan.object_range, len(stored)) or (0, -1)
        first, last = s3_answer(plan.entries_range, len(self.index)) or (0, -1)
        answer = {"ContentRange": f"bytes {start}-{end}/{len(stored)}"}
        verifier = reads.verified_range(
            plan, self.key, self.content_key, self.index[first : last + 1], answer
        )
        out = bytearray()
        for at in range(start, end + 1, 100_000):
            out += verifier.update(stored[at : min(at + 100_000, end + 1)])
        return bytes(out + verifier.finalize())


@settings(max_examples=25, deadline=None)
@given(size=SIZES, seed=st.integers(0, 2**32), data=st.data())
def test_a_verified_range_returns_the_plaintext_and_refuses_altered_chunks(
    size: int, seed: int, data: st.DataObject
) -> None:
    plaintext = random.Random(seed).randbytes(size)
    obj = IndexedObject(plaintext, seed)
    body = obj.stored[:-TAG]
    assert (
        obj.key.check_whole(obj.index, len(obj.stored), TAG)
        == [  # any chunking: same MACs
            obj.key.chunk_mac(n, body[at : at + CHUNK_SIZE])
            for n, at in enumerate(range(0, len(body), CHUNK_SIZE))
        ]
    )
    header = data.draw(range_headers(size), label="range")
    expected = s3_answer(header, size)
    if expected is None:
        with pytest.raises(RangeNotSatisfiableError):
            obj.read(header)
        return
    first, last = expected
    assert obj.read(header) == plaintext[first : last + 1]
    chunk_first, chunk_last = first // CHUNK_SIZE, last // CHUNK_SIZE
    at = data.draw(
        st.integers(chunk_first * CHUNK_SIZE, min((chunk_last + 1) * CHUNK_SIZE, size) - 1),
        label="altered byte",
    )
    with pytest.raises(IndexMismatchError, match=f"chunk {at // CHUNK_SIZE}"):
        obj.read(header, flip(obj.stored, at, 0))
