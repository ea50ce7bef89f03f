"""A caching materials manager: fewer KMS calls for many small objects.

Writing: one data key serves up to ``max_objects`` objects, ``max_age`` seconds and
``max_bytes`` bytes, then a fresh one is made. That is safe with suite 115, where every
object's content key is derived from the data key and a fresh random message id, so no
two objects share a content key. Suite 114 (V2) would encrypt many objects under the
same key with random 96-bit IVs and no key commitment: refused unless forced.

Reading: unwrapped data keys are remembered by everything that decided the unwrap (the
wrapped key, its stored context, the context the caller expects, the legacy switch), so
a cached answer is only ever given to a request that would have got the same answer.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from ..core.materials import (
    DecryptionRequest,
    DefaultMaterialsManager,
    EncryptionMaterials,
    EncryptionRequest,
    Keyring,
    MaterialsManager,
)
from ..errors import ConfigurationError
from .key_cache import request_key

T = TypeVar("T")


@dataclass
class _Entry:
    materials: EncryptionMaterials
    created: float
    objects: int = 0
    bytes: int = 0


class _Miss(Generic[T]):
    """What to do with the inner manager's answer after a cache miss."""

    def __init__(self, remember: Callable[[T], None]) -> None:
        self._remember = remember

    def store(self, value: T) -> T:
        self._remember(value)
        return value


@dataclass
class CacheStats:
    encrypt_hits: int = 0
    encrypt_misses: int = 0
    decrypt_hits: int = 0
    decrypt_misses: int = 0


class CachingMaterialsManager(MaterialsManager):
    def __init__(
        self,
        inner: MaterialsManager | Keyring,
        *,
        max_objects: int = 1000,
        max_age: float = 300.0,
        max_bytes: int | None = None,
        decrypt_entries: int = 1000,
        allow_non_committing: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_objects < 1 or max_age <= 0 or decrypt_entries < 0:
            raise ConfigurationError(
                "max_objects must be >= 1, max_age > 0 and decrypt_entries >= 0"
            )
        if max_bytes is not None and max_bytes < 1:
            raise ConfigurationError("max_bytes must be >= 1")
        self.inner = (
            inner if isinstance(inner, MaterialsManager) else DefaultMaterialsManager(inner)
        )
        self.max_objects, self.max_age, self.max_bytes = max_objects, max_age, max_bytes
        self.decrypt_entries = decrypt_entries
        self.allow_non_committing = allow_non_committing
        self._clock = clock
        self._lock = threading.Lock()
        self._encrypt: dict[Hashable, _Entry] = {}
        self._decrypt: OrderedDict[Hashable, tuple[bytes, float]] = OrderedDict()
        self.stats = CacheStats()

    # Each entry point is a lookup, the inner manager's answer on a miss, and a store:
    # the sync and async ones differ only in how they ask the inner manager.

    def encryption_materials(self, request: EncryptionRequest) -> EncryptionMaterials:
        hit, miss = self._encrypt_lookup(request)
        if hit is not None:
            return hit
        return miss.store(self.inner.encryption_materials(request))

    async def aencryption_materials(self, request: EncryptionRequest) -> EncryptionMaterials:
        hit, miss = self._encrypt_lookup(request)
        if hit is not None:
            return hit
        return miss.store(await self.inner.aencryption_materials(request))

    def decrypt_data_key(self, request: DecryptionRequest) -> bytes:
        hit, miss = self._decrypt_lookup(request)
        if hit is not None:
            return hit
        return miss.store(self.inner.decrypt_data_key(request))

    async def adecrypt_data_key(self, request: DecryptionRequest) -> bytes:
        hit, miss = self._decrypt_lookup(request)
        if hit is not None:
            return hit
        return miss.store(await self.inner.adecrypt_data_key(request))

    async def aclose(self) -> None:
        await self.inner.aclose()

    def _encrypt_lookup(
        self, request: EncryptionRequest
    ) -> tuple[EncryptionMaterials | None, _Miss[EncryptionMaterials]]:
        if not request.suite.committing and not self.allow_non_committing:
            raise ConfigurationError(
                f"caching data keys for {request.suite.name} would encrypt many objects "
                "under one key with random IVs and no key commitment",
                hint="Write format v3 (the default), or pass allow_non_committing=True if "
                "you accept that",
            )
        length = request.plaintext_length
        cacheable = self.max_bytes is None or (length is not None and length <= self.max_bytes)
        key = (request.suite.id, tuple(sorted(request.encryption_context.items())))
        now = self._clock()
        with self._lock:
            entry = self._encrypt.get(key)
            if cacheable and entry is not None and self._usable(entry, now, length):
                entry.objects += 1
                entry.bytes += length or 0
                self.stats.encrypt_hits += 1
                return entry.materials, _Miss(lambda m: None)
            self.stats.encrypt_misses += 1

        def store(materials: EncryptionMaterials) -> None:
            if cacheable:
                with self._lock:
                    self._encrypt[key] = _Entry(materials, now, 1, length or 0)

        return None, _Miss(store)

    def _usable(self, entry: _Entry, now: float, length: int | None) -> bool:
        if now - entry.created >= self.max_age or entry.objects >= self.max_objects:
            return False
        return self.max_bytes is None or entry.bytes + (length or 0) <= self.max_bytes

    def _decrypt_lookup(self, request: DecryptionRequest) -> tuple[bytes | None, _Miss[bytes]]:
        key = request_key(request)
        now = self._clock()
        with self._lock:
            cached = self._decrypt.get(key)
            if cached is not None and now - cached[1] < self.max_age:
                self._decrypt.move_to_end(key)
                self.stats.decrypt_hits += 1
                return cached[0], _Miss(lambda d: None)
            self.stats.decrypt_misses += 1

        def store(data_key: bytes) -> None:
            if self.decrypt_entries:
                with self._lock:
                    self._decrypt[key] = (data_key, now)
                    self._decrypt.move_to_end(key)
                    while len(self._decrypt) > self.decrypt_entries:
                        self._decrypt.popitem(last=False)

        return None, _Miss(store)

    def clear(self) -> None:
        """Forget every cached key (e.g. after a master key was rotated or revoked)."""
        with self._lock:
            self._encrypt.clear()
            self._decrypt.clear()
