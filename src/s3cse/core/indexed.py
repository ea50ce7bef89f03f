"""A whole AES-GCM object read in one GET and released chunk by chunk, each chunk only
once its integrity index entry verifies (``integrity``).

The GCM tag covers the whole object, so without an index nothing can be released before
the last byte has arrived. With one, every 256 KiB chunk of ciphertext is checked against
its entry before it is decrypted and handed out: the first bytes come as soon as the
first chunk is in, and nothing unauthenticated is ever released. The tag is still
checked at the end.

Only the index header is trusted up front, once its MAC verifies and the object's and the
sidecar's sizes agree with it (``reads.open_index``). Entries are fetched in windows as
the stream reaches them, so memory stays bounded whatever the object's size: one window
of entries and about one chunk of ciphertext.
"""

from __future__ import annotations

from .ciphers import GcmDecryptor
from .errors import S3CSEError
from .integrity import (
    CHUNK_SIZE,
    MAC_LENGTH,
    IndexKey,
    IndexMismatchError,
    entries_range,
    entry_count,
    split_entries,
)

ENTRY_WINDOW = 4096
"""Entries fetched at once: 64 KiB of index, covering 1 GiB of object."""
LOOKAHEAD = 16
"""The next window is wanted once fewer entries than this are left ahead of the stream,
so that a feed (a read of about a chunk) always finds the entries of its chunks held."""


class IndexedStream:
    """Turns the ciphertext of a whole object into plaintext released chunk by chunk.

    Fed like a decryptor (``update`` then ``finalize``); before each feed its reader asks
    ``entries_wanted`` and, when it names a Range of the index, fetches it and passes it
    to ``add_entries``. A chunk that fails its check ends the stream,
    but what the chunks before it released is handed out first: the error is raised by
    the next call, so a reader gets exactly the verified prefix, then the error.
    """

    def __init__(
        self, key: IndexKey, decryptor: GcmDecryptor, stored_size: int, tag_length: int
    ) -> None:
        self._key = key
        self._decryptor = decryptor
        self._tag_length = tag_length
        self.plaintext_size = stored_size - tag_length
        self._chunks = entry_count(stored_size, tag_length)
        self._next = 0  # the next chunk to check
        self._entries: list[bytes] = []
        self._entries_from = 0  # the chunk number of _entries[0]
        self._pending = bytearray()
        self._failure: S3CSEError | None = None

    def start_with(self, entries: bytes) -> None:
        """The entries fetched with the header (what followed it), used only once the
        header verified; a sidecar shorter than its header implies fails before this."""
        count = min(len(entries) // MAC_LENGTH, self._chunks)
        self._entries = split_entries(entries[: count * MAC_LENGTH], 0, count - 1)

    def entries_wanted(self) -> str | None:
        """The Range of the next window of index entries, once the stream nears the end
        of those held; None while enough are held (or the index has no more)."""
        fetched = self._entries_from + len(self._entries)
        if fetched >= self._chunks or fetched - self._next >= LOOKAHEAD:
            return None
        return entries_range(fetched, min(fetched + ENTRY_WINDOW, self._chunks) - 1)

    def add_entries(self, blob: bytes) -> None:
        """What the index returned for the Range ``entries_wanted`` named."""
        fetched = self._entries_from + len(self._entries)
        last = min(fetched + ENTRY_WINDOW, self._chunks) - 1
        ahead = self._entries[self._next - self._entries_from :]
        self._entries = ahead + split_entries(blob, fetched, last)
        self._entries_from = self._next

    def update(self, ciphertext: bytes) -> bytes:
        self._raise_failure()
        self._pending += ciphertext
        return self._release()

    def finalize(self) -> bytes:
        self._raise_failure()
        out = self._release()
        self._raise_failure()
        if self._next < self._chunks or len(self._pending) < self._tag_length:
            raise IndexMismatchError("the object returned fewer bytes than its index covers")
        if len(self._pending) > self._tag_length:
            raise IndexMismatchError("the object returned more bytes than its index covers")
        return out + self._decryptor.verify(bytes(self._pending))

    def _release(self) -> bytes:
        """Check and decrypt every whole chunk pending whose entry is held."""
        out = []
        while self._next < self._chunks:
            length = min(CHUNK_SIZE, self.plaintext_size - self._next * CHUNK_SIZE)
            held = self._next - self._entries_from
            if len(self._pending) < length or not 0 <= held < len(self._entries):
                break
            chunk = bytes(self._pending[:length])
            try:
                self._key.check_chunk(self._next, chunk, self._entries[held])
            except IndexMismatchError as exc:
                self._failure = exc
                break
            del self._pending[:length]
            self._next += 1
            out.append(self._decryptor.decrypt(chunk))
        if self._next >= self._chunks and len(self._pending) > self._tag_length:
            self._failure = IndexMismatchError(
                "the object returned more bytes than its index covers"
            )
        return b"".join(out)

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure
