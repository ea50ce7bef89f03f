"""The clients' data-key cache: bounds, age, copies, failures, and one unwrap for
concurrent readers of one key (threads and tasks), without timing anything."""

from __future__ import annotations

import asyncio
import pickle
import threading
from typing import Any

import pytest

from s3cse.core.config import CryptoConfig
from s3cse.core.materials import DecryptionRequest
from s3cse.core.metadata import ContentMetadata
from s3cse.core.suites import GCM_HKDF_COMMIT, FormatVersion
from s3cse.errors import ConfigurationError, KmsError
from s3cse.keyrings.key_cache import AsyncKeyCache, KeyCache, request_key


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def request(wrapped: bytes = b"wrapped", context: dict[str, str] | None = None) -> Any:
    md = ContentMetadata(
        FormatVersion.V3, GCM_HKDF_COMMIT, "kms+context", wrapped, {"aws:x-amz-cek-alg": "115"}
    )
    return DecryptionRequest(md, dict(context or {}), False)


class Unwraps:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> bytes:
        self.calls += 1
        return b"K%d" % self.calls


def test_a_key_is_reused_until_its_age_counted_from_its_unwrap() -> None:
    clock, unwrap = Clock(), Unwraps()
    cache = KeyCache(60.0, 10, clock=clock)
    assert cache.fetch(request(), unwrap) == b"K1"
    clock.now = 59.9
    assert cache.fetch(request(), unwrap) == b"K1"  # use does not extend the age
    clock.now = 60.0
    assert cache.fetch(request(), unwrap) == b"K2"
    assert unwrap.calls == 2


def test_everything_that_decides_the_unwrap_is_in_the_key() -> None:
    unwrap = Unwraps()
    cache = KeyCache(60.0, 10)
    assert cache.fetch(request(), unwrap) == b"K1"
    assert cache.fetch(request(b"other"), unwrap) == b"K2"
    assert cache.fetch(request(context={"a": "1"}), unwrap) == b"K3"
    assert cache.fetch(request(context={"a": "1"}), unwrap) == b"K3"
    assert request_key(request()) != request_key(DecryptionRequest(request().metadata, {}, True))


def test_the_least_recently_used_key_goes_first() -> None:
    unwrap = Unwraps()
    cache = KeyCache(60.0, 2)
    cache.fetch(request(b"a"), unwrap)
    cache.fetch(request(b"b"), unwrap)
    cache.fetch(request(b"a"), unwrap)
    cache.fetch(request(b"c"), unwrap)  # drops b
    assert len(cache) == 2
    assert cache.fetch(request(b"a"), unwrap) == b"K1"
    assert cache.fetch(request(b"b"), unwrap) == b"K4"


@pytest.mark.parametrize(("age", "entries"), [(0.0, 10), (60.0, 0)])
def test_a_cache_of_no_age_or_size_unwraps_every_time(age: float, entries: int) -> None:
    unwrap = Unwraps()
    cache = KeyCache(age, entries)
    for _ in range(3):
        cache.fetch(request(), unwrap)
    assert unwrap.calls == 3 and len(cache) == 0


def test_a_copy_holds_no_key() -> None:
    cache = KeyCache(30.0, 5)
    cache.fetch(request(), Unwraps())
    copy = pickle.loads(pickle.dumps(cache))
    assert (copy.max_age, copy.max_entries, len(copy)) == (30.0, 5, 0)
    assert b"K1" not in pickle.dumps(cache)


def test_a_failed_unwrap_is_not_cached_and_clear_forgets() -> None:
    cache, unwrap = KeyCache(60.0, 10), Unwraps()

    def refused() -> bytes:
        raise KmsError("refused")

    with pytest.raises(KmsError):
        cache.fetch(request(), refused)
    assert cache.fetch(request(), unwrap) == b"K1"
    cache.clear()
    assert cache.fetch(request(), unwrap) == b"K2"


def test_config_bounds_the_cache() -> None:
    config = CryptoConfig()
    assert (config.decrypt_cache_seconds, config.decrypt_cache_entries) == (60.0, 1000)
    with pytest.raises(ConfigurationError):
        CryptoConfig(decrypt_cache_seconds=-1)
    with pytest.raises(ConfigurationError):
        CryptoConfig(decrypt_cache_entries=-1)


def test_threads_asking_for_a_key_being_unwrapped_wait_for_it() -> None:
    cache, unwrap = KeyCache(60.0, 10), Unwraps()
    entered, release = threading.Event(), threading.Event()
    waiting = threading.Semaphore(0)

    def slow() -> bytes:
        entered.set()
        release.wait()
        return unwrap()

    leader = threading.Thread(target=cache.fetch, args=(request(), slow))
    leader.start()
    entered.wait()
    (flight,) = cache._flights.values()
    wait = flight.wait

    def counted_wait(timeout: float | None = None) -> bool:
        waiting.release()
        return wait(timeout)

    flight.wait = counted_wait  # type: ignore[method-assign]
    results: list[bytes] = []
    followers = [
        threading.Thread(target=lambda: results.append(cache.fetch(request(), unwrap)))
        for _ in range(4)
    ]
    for thread in followers:
        thread.start()
    for _ in followers:
        waiting.acquire()  # every follower is waiting on the leader's unwrap
    release.set()
    for thread in [leader, *followers]:
        thread.join()
    assert results == [b"K1"] * 4 and unwrap.calls == 1


def test_tasks_asking_for_a_key_being_unwrapped_wait_for_it() -> None:
    async def main() -> tuple[list[bytes], int]:
        cache, unwrap, release = AsyncKeyCache(60.0, 10), Unwraps(), asyncio.Event()

        async def slow() -> bytes:
            await release.wait()
            return unwrap()

        tasks = [asyncio.create_task(cache.fetch(request(), slow)) for _ in range(5)]
        for _ in range(3):
            await asyncio.sleep(0)  # every task has started and is waiting
        assert len(cache._flights) == 1 and unwrap.calls == 0
        release.set()
        return list(await asyncio.gather(*tasks)), unwrap.calls

    assert asyncio.run(main()) == ([b"K1"] * 5, 1)


def test_a_cancelled_unwrap_hands_over_to_the_next_task() -> None:
    async def main() -> tuple[bytes, int]:
        cache, unwrap = AsyncKeyCache(60.0, 10), Unwraps()
        never = asyncio.Event()

        async def stuck() -> bytes:
            await never.wait()
            return b"never"

        async def quick() -> bytes:
            return unwrap()

        leader = asyncio.create_task(cache.fetch(request(), stuck))
        await asyncio.sleep(0)
        follower = asyncio.create_task(cache.fetch(request(), quick))
        await asyncio.sleep(0)
        leader.cancel()
        return await follower, unwrap.calls

    assert asyncio.run(main()) == (b"K1", 1)
