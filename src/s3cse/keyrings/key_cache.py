"""A client's cache of unwrapped data keys: an object read again soon (a ranged read, a
Parquet footer then its columns, many readers of one object) costs one KMS Decrypt, or
one RSA decryption, not one per read.

What it trades (``docs/threat-model.md``, "Data-key caches"): a plaintext data key stays
in the process's memory for up to ``max_age`` seconds after its unwrap (Python cannot
zero bytes); a KMS key disabled or a grant revoked stops this client's reads of objects
it has already read only once that age has passed; CloudTrail logs one Decrypt per
wrapped key per ``max_age``, not one per read. An entry's age counts from its unwrap,
never from its last use, so the keyring is asked again at least every ``max_age``
seconds however busy the object is.

Entries are keyed by everything that decided the unwrap (``request_key``), so a cached
key is only handed to a request that would have got the same answer from the keyring:
another encryption context, material description, wrapping or legacy setting is a
miss, and the keyring checks it as ever. What follows the unwrap (the policy checks
before it, key commitment, the GCM tag, the integrity index) runs on every read.

The cache belongs to one client, which has one materials manager: it is never shared,
and pickles as an empty cache, so no key leaves the process. Concurrent reads of one
wrapped key wait for the first one's unwrap instead of each making their own
(``KeyCache`` for threads, ``AsyncKeyCache`` for tasks).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, Protocol, TypeVar

from ..core.materials import DecryptionRequest


def request_key(request: DecryptionRequest) -> Hashable:
    """What the keyring's answer to ``request`` depends on: the wrapped key and its
    wrapping, the suite, the stored context (KMS) or material description (raw keys),
    the context the caller expects and the legacy switch."""
    md = request.metadata
    return (
        md.wrap_alg,
        md.encrypted_data_key,
        md.suite.id,
        tuple(sorted(md.context.items())),
        tuple(sorted(request.encryption_context.items())),
        request.legacy,
    )


class _Flight(Protocol):
    def set(self) -> None: ...


F = TypeVar("F", bound=_Flight)


class _Store(Generic[F]):
    """Data keys bounded in count (least recently used dropped first) and in age, and
    the unwraps under way (``F``: an event their waiters wait on)."""

    def __init__(
        self,
        max_age: float,
        max_entries: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_age, self.max_entries = max_age, max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: OrderedDict[Hashable, tuple[bytes, float]] = OrderedDict()
        self._flights: dict[Hashable, F] = {}

    @property
    def enabled(self) -> bool:
        return self.max_age > 0 and self.max_entries > 0

    def __len__(self) -> int:
        return len(self._keys)

    def __reduce__(self) -> tuple[Any, ...]:
        """A copy is an empty cache: no data key is ever written out."""
        return type(self), (self.max_age, self.max_entries)

    def clear(self) -> None:
        """Forget every key (e.g. once a master key was disabled or a grant revoked)."""
        with self._lock:
            self._keys.clear()

    def _claim(self, key: Hashable, flight: F) -> bytes | F | None:
        """The fresh key cached (its age counted from its unwrap); else the unwrap of it
        under way, to wait for; else None: ``flight`` is now the unwrap under way."""
        with self._lock:
            entry = self._keys.get(key)
            if entry is not None and self._clock() - entry[1] < self.max_age:
                self._keys.move_to_end(key)
                return entry[0]
            self._keys.pop(key, None)
            running = self._flights.get(key)
            if running is not None:
                return running
            self._flights[key] = flight
            return None

    def _store(self, key: Hashable, data_key: bytes, unwrapped_at: float) -> bytes:
        with self._lock:
            self._keys[key] = (data_key, unwrapped_at)
            self._keys.move_to_end(key)
            while len(self._keys) > self.max_entries:
                self._keys.popitem(last=False)
        return data_key

    def _land(self, key: Hashable, flight: F) -> None:
        """The unwrap ``flight`` is over (done or failed): its waiters look again."""
        with self._lock:
            del self._flights[key]
        flight.set()


class KeyCache(_Store[threading.Event]):
    """The sync client's cache: safe from many threads."""

    def fetch(self, request: DecryptionRequest, unwrap: Callable[[], bytes]) -> bytes:
        """The data key of ``request``: cached, or ``unwrap()``-ed once for every thread
        asking at the same time (if that fails, the next one asking tries again)."""
        if not self.enabled:
            return unwrap()
        key, flight = request_key(request), threading.Event()
        while (claimed := self._claim(key, flight)) is not None:
            if isinstance(claimed, bytes):
                return claimed
            claimed.wait()
        try:
            started = self._clock()
            return self._store(key, unwrap(), started)
        finally:
            self._land(key, flight)


class AsyncKeyCache(_Store[asyncio.Event]):
    """The async client's cache: safe from many tasks (of one event loop, as the
    client's S3 and KMS clients are)."""

    async def fetch(
        self, request: DecryptionRequest, unwrap: Callable[[], Awaitable[bytes]]
    ) -> bytes:
        """As ``KeyCache.fetch``, awaiting ``unwrap()``; a cancelled unwrap hands over to
        the next task asking."""
        if not self.enabled:
            return await unwrap()
        key, flight = request_key(request), asyncio.Event()
        while (claimed := self._claim(key, flight)) is not None:
            if isinstance(claimed, bytes):
                return claimed
            await claimed.wait()
        try:
            started = self._clock()
            return self._store(key, await unwrap(), started)
        finally:
            self._land(key, flight)
