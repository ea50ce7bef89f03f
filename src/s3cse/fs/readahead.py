"""The read cache of ``s3cse://`` files: read-ahead that follows the access pattern.

Columnar readers (Parquet, ORC) read an object's tail (the footer), then jump to column
chunks, each one large range; others read from the start to the end. A fixed read-ahead
fails one or the other: small blocks turn a large sequential read into many GETs, large
ones fetch whole columns nobody asked for. This cache holds one span of plaintext and
reads ahead only while reads run forward: a read away from the span fetches just what it
asks for (rounded up to whole index chunks, which are fetched whole anyway); each read
that continues the span doubles the read-ahead, up to the file's block size. The tail
fetched when the file opened is kept apart, so returning to the footer costs nothing.
"""

from __future__ import annotations

from fsspec.caching import BaseCache, Fetcher, register_cache

from ..core.integrity import CHUNK_SIZE

FIRST_WINDOW = 1024 * 1024
"""Read-ahead after the first read that continues the span; it doubles from here."""
GAP = 64 * 1024
"""A read starting at most this far past the span still continues it."""


class ReadAhead(BaseCache):  # type: ignore[misc]
    name = "s3cse-readahead"

    def __init__(self, blocksize: int, fetcher: Fetcher, size: int) -> None:
        super().__init__(blocksize, fetcher, size)
        self.start, self.data = 0, b""
        self.tail_start, self.tail = size, b""
        self.window = 0

    def seed_tail(self, start: int, data: bytes) -> None:
        """Keep the object's last bytes, from ``start``, read when the file opened."""
        self.tail_start, self.tail = start, data

    def _held(self, start: int, stop: int) -> bytes | None:
        for first, data in ((self.start, self.data), (self.tail_start, self.tail)):
            if first <= start and stop <= first + len(data):
                return data[start - first : stop - first]
        return None

    def _fetch(self, start: int | None, stop: int | None) -> bytes:
        start = start or 0
        stop = self.size if stop is None else min(stop, self.size)
        if start >= stop:
            return b""
        held = self._held(start, stop)
        if held is not None:
            self.hit_count += 1
            return held
        self.miss_count += 1
        end = self.start + len(self.data)
        if self.data and self.start <= start <= end + GAP:
            self.window = min(max(2 * self.window, FIRST_WINDOW), self.blocksize)
            keep, fetch_from = self.data[start - self.start :], max(start, end)
        else:
            self.window, keep, fetch_from = 0, b"", start
        fetch_to = min(-(-(stop + self.window) // CHUNK_SIZE) * CHUNK_SIZE, self.size)
        self.total_requested_bytes += fetch_to - fetch_from
        self.start, self.data = start, keep + self.fetcher(fetch_from, fetch_to)
        return self.data[: stop - start]


register_cache(ReadAhead, clobber=True)
