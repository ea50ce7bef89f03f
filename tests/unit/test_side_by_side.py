"""Two calls at once in both flavours: helper threads reused, failures never leave the
other call running, nested calls never wait on a full pool."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from s3cse.io.backends import async_both, both
from s3cse.io.sidebyside import HELPERS


def test_helper_threads_are_reused() -> None:
    """Starting a thread per call cost a small write as much as the request it overlaps."""
    before = threading.active_count()
    names = {both(lambda: threading.current_thread().name, lambda: None)[0] for _ in range(200)}
    assert all(name.startswith("s3cse-side") for name in names)
    assert len(names) <= HELPERS
    assert threading.active_count() - before <= HELPERS


def test_both_run_at_once() -> None:
    barrier = threading.Barrier(2, timeout=5)
    assert both(barrier.wait, barrier.wait) is not None  # one alone would time out


def test_the_first_has_finished_when_the_second_fails() -> None:
    finished = threading.Event()

    def slow() -> None:
        time.sleep(0.2)
        finished.set()

    def fails() -> None:
        raise KeyError("second")

    with pytest.raises(KeyError, match="second"):
        both(slow, fails)
    assert finished.is_set()


def test_nested_calls_on_a_full_pool_finish() -> None:
    def nested() -> tuple[int, int]:
        return both(lambda: 1, lambda: 2)

    results = both(lambda: [nested() for _ in range(HELPERS * 2)], nested)
    assert results == ([(1, 2)] * (HELPERS * 2), (1, 2))


def test_async_both_waits_for_the_other_and_keeps_answers_that_are_exceptions() -> None:
    asyncio.run(async_both_outcomes())


async def async_both_outcomes() -> None:
    finished = asyncio.Event()

    async def slow() -> None:
        await asyncio.sleep(0.2)
        finished.set()

    async def fails() -> None:
        raise KeyError("second")

    with pytest.raises(KeyError, match="second"):
        await async_both(slow, fails)
    assert finished.is_set()

    async def answer() -> Exception:
        return ValueError("an answer, not a failure")

    async def other() -> int:
        return 1

    got, one = await async_both(answer, other)
    assert isinstance(got, ValueError) and one == 1
