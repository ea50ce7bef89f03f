"""``IndexedStream``: a whole object's ciphertext released chunk by chunk, each chunk only
once its index entry verifies, entries fetched in windows as the stream nears them."""

from __future__ import annotations

import os
import random

import pytest

from s3cse.core import indexed
from s3cse.core.ciphers import GcmDecryptor, GcmEncryptor, new_content_key
from s3cse.core.indexed import IndexedStream
from s3cse.core.integrity import (
    CHUNK_SIZE,
    HEADER_SIZE,
    MAC_LENGTH,
    TRAILER_SIZE,
    ChunkMacer,
    IndexKey,
    IndexMismatchError,
)
from s3cse.core.suites import GCM_HKDF_COMMIT
from s3cse.errors import TagMismatchError

TAG = 16


class Stored:
    """An object encrypted as s3cse writes it, with its index."""

    def __init__(self, plaintext: bytes) -> None:
        self.plaintext = plaintext
        self.content_key = new_content_key(GCM_HKDF_COMMIT, os.urandom(32)).content_key
        encryptor = GcmEncryptor(self.content_key)
        self.ciphertext = encryptor.update(plaintext) + encryptor.finalize()
        self.key = IndexKey(os.urandom(32), os.urandom(32))
        macer = ChunkMacer(self.key, 0)
        macer.update(self.ciphertext[:-TAG])
        self.index = self.key.build(len(self.ciphertext), macer.finalize())
        self.fetched: list[str] = []

    def stream(self) -> IndexedStream:
        return IndexedStream(self.key, GcmDecryptor(self.content_key), len(self.ciphertext), TAG)

    def entries(self, header: str) -> bytes:
        self.fetched.append(header)
        first, last = (int(n) for n in header.removeprefix("bytes=").split("-"))
        return self.index[first : last + 1]


def feed(stored: Stored, ciphertext: bytes, step: int, out: bytearray) -> IndexedStream:
    """Feed ``ciphertext`` in pieces of about ``step`` bytes as a reader does: entries
    first whenever they are wanted. What is released goes into ``out``."""
    stream = stored.stream()
    rng = random.Random(step)
    position = 0
    while position < len(ciphertext):
        while (wanted := stream.entries_wanted()) is not None:
            stream.add_entries(stored.entries(wanted))
        size = rng.randint(1, step)
        out += stream.update(ciphertext[position : position + size])
        position += size
    while (wanted := stream.entries_wanted()) is not None:
        stream.add_entries(stored.entries(wanted))
    return stream


@pytest.fixture
def small_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(indexed, "ENTRY_WINDOW", 3)
    monkeypatch.setattr(indexed, "LOOKAHEAD", 2)


@pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, 10 * CHUNK_SIZE + 5])
def test_releases_the_plaintext_whatever_the_feeding(size: int, small_windows: None) -> None:
    stored = Stored(os.urandom(size))
    out = bytearray()
    stream = feed(stored, stored.ciphertext, CHUNK_SIZE, out)
    out += stream.finalize()
    assert bytes(out) == stored.plaintext
    # the index is read in windows of entries, each once, never the trailer
    starts = [int(h.removeprefix("bytes=").split("-")[0]) for h in stored.fetched]
    assert starts == sorted(set(starts))
    assert all(int(h.split("-")[1]) < len(stored.index) - 32 for h in stored.fetched)
    assert all(s >= HEADER_SIZE for s in starts)


def test_an_altered_chunk_releases_exactly_the_chunks_before_it(small_windows: None) -> None:
    stored = Stored(os.urandom(6 * CHUNK_SIZE + 9))
    altered = bytearray(stored.ciphertext)
    altered[4 * CHUNK_SIZE + 3] ^= 0x01
    out = bytearray()
    with pytest.raises(IndexMismatchError, match="chunk 4"):
        feed(stored, bytes(altered), 3 * CHUNK_SIZE // 2, out).finalize()
    assert bytes(out) == stored.plaintext[: 4 * CHUNK_SIZE]


def test_an_altered_tag_fails_at_the_end() -> None:
    stored = Stored(os.urandom(2 * CHUNK_SIZE))
    altered = stored.ciphertext[:-1] + bytes([stored.ciphertext[-1] ^ 1])
    out = bytearray()
    stream = feed(stored, altered, CHUNK_SIZE, out)
    with pytest.raises(TagMismatchError):
        stream.finalize()
    assert bytes(out) == stored.plaintext  # every chunk verified against its entry


@pytest.mark.parametrize("change", ["cut", "cut-in-tag", "extended"])
def test_a_stream_of_another_length_fails(change: str) -> None:
    stored = Stored(os.urandom(2 * CHUNK_SIZE + 50))
    ciphertext = {
        "cut": stored.ciphertext[:-100],
        "cut-in-tag": stored.ciphertext[:-3],
        "extended": stored.ciphertext + b"x" * 40,
    }[change]
    out = bytearray()
    with pytest.raises(IndexMismatchError, match="bytes than its index covers"):
        feed(stored, ciphertext, CHUNK_SIZE, out).finalize()
    assert stored.plaintext.startswith(bytes(out))


def test_entries_of_the_wrong_length_are_refused() -> None:
    stored = Stored(os.urandom(3 * CHUNK_SIZE))
    stream = stored.stream()
    wanted = stream.entries_wanted()
    assert wanted is not None
    with pytest.raises(IndexMismatchError, match="entries"):
        stream.add_entries(stored.entries(wanted)[:-1])


@pytest.mark.parametrize("given", [0, 5 * MAC_LENGTH, 10 * MAC_LENGTH + TRAILER_SIZE])
def test_entries_fetched_with_the_header_are_used_first(given: int, small_windows: None) -> None:
    """What followed the header in its response (up to the rest of the index, trailer
    and all) serves the first chunks; only the entries after it are fetched."""
    stored = Stored(os.urandom(10 * CHUNK_SIZE))
    start = stored.stream()
    start.start_with(stored.index[HEADER_SIZE : HEADER_SIZE + given])
    stored.stream = lambda: start  # type: ignore[method-assign]
    out = bytearray()
    out += feed(stored, stored.ciphertext, CHUNK_SIZE, out).finalize()
    assert bytes(out) == stored.plaintext
    held = HEADER_SIZE + min(given, 10 * MAC_LENGTH)
    assert all(int(h[6:].split("-")[0]) >= held for h in stored.fetched), stored.fetched
    assert bool(stored.fetched) == (given < 10 * MAC_LENGTH)
