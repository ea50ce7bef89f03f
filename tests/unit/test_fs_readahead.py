"""The read cache of s3cse:// files: what it fetches for a footer, jumps and runs."""

from __future__ import annotations

import itertools

from s3cse.core.integrity import CHUNK_SIZE
from s3cse.fs.readahead import FIRST_WINDOW, ReadAhead

MiB = 1024 * 1024
SIZE = 100 * MiB


def cache(block: int = 8 * MiB) -> tuple[ReadAhead, list[tuple[int, int]]]:
    fetched: list[tuple[int, int]] = []

    def fetch(start: int, end: int) -> bytes:
        fetched.append((start, end))
        return bytes(i % 251 for i in range(start, end))

    return ReadAhead(block, fetch, SIZE), fetched


def expected(start: int, end: int) -> bytes:
    return bytes(i % 251 for i in range(start, end))


def test_the_tail_read_at_open_serves_the_footer_without_a_fetch() -> None:
    readahead, fetched = cache()
    tail_start = SIZE - 2 * CHUNK_SIZE
    readahead.seed_tail(tail_start, expected(tail_start, SIZE))
    assert readahead._fetch(SIZE - 65536, SIZE) == expected(SIZE - 65536, SIZE)
    assert readahead._fetch(SIZE - 8, None) == expected(SIZE - 8, SIZE)
    assert fetched == []


def test_a_jump_fetches_what_it_asks_for_in_whole_chunks_and_keeps_the_tail() -> None:
    readahead, fetched = cache()
    readahead.seed_tail(SIZE - CHUNK_SIZE, expected(SIZE - CHUNK_SIZE, SIZE))
    assert readahead._fetch(10 * MiB + 5, 10 * MiB + 1000) == expected(
        10 * MiB + 5, 10 * MiB + 1000
    )
    assert fetched == [(10 * MiB + 5, 10 * MiB + CHUNK_SIZE)]
    assert readahead._fetch(50 * MiB, 50 * MiB + 3 * MiB) == expected(50 * MiB, 53 * MiB)
    assert fetched[-1] == (50 * MiB, 53 * MiB)  # far away: no read-ahead
    assert readahead._fetch(SIZE - 100, SIZE) == expected(SIZE - 100, SIZE)
    assert len(fetched) == 2


def test_reads_that_run_forward_read_ahead_more_and_more_up_to_the_block_size() -> None:
    readahead, fetched = cache(block=8 * MiB)
    position, step = 0, 512 * 1024
    while position < 40 * MiB:
        assert readahead._fetch(position, position + step) == expected(position, position + step)
        position += step
    windows = [end - start for start, end in fetched]
    assert windows[0] == step  # the first read, alone
    assert windows[1] == step + FIRST_WINDOW  # then it runs forward: read-ahead begins
    assert max(windows) <= 8 * MiB + step and windows[-2] > windows[1]
    assert len(fetched) < 40 * MiB // step // 4  # far fewer fetches than reads
    assert all(b[0] == a[1] for a, b in itertools.pairwise(fetched))  # no overlap
