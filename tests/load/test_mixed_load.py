"""Mixed load on shared clients, for a bounded time, every byte checked.

For ``S3CSE_LOAD_SECONDS`` (default 20) ``THREADS`` threads share one sync
``EncryptionClient`` per keyring (KMS; AES with unauthenticated ranges allowed), while
``TASKS`` asyncio tasks share one ``AsyncEncryptionClient`` (KMS through aiobotocore, data
keys cached) on the session's event loop. Each worker runs a random mix of small puts,
whole gets, ranged gets (unaligned, open, suffix, the last bytes), ``ObjectReader``
reads, multipart uploads and parallel downloads, overwrites of keys that every worker
writes, and deletes.

An object's content is a pure function of (seed, key, version), so every read is checked
byte for byte. A worker's own keys must read back exactly as it last wrote them, or be
missing once it deleted them. A shared key may hold any version ever written to it, but
one whole version, never a mix; a read that races an overwrite or a delete of it may only
fail the way S3 reports that (the object is missing, or its ETag changed under a read
pinned to it). Anything else is a failure. Memory: the resident set is measured at rest
after a warm-up phase and again after the main phase; it must not grow by more than
``RSS_GROWTH_LIMIT``, a small part of what the run moves (and threads and open files
must not pile up either).

``S3CSE_LOAD_SEED`` replays a run's choices (the seed is printed with the summary).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import gc
import hashlib
import io
import itertools
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from s3cse import EncryptionClient, KmsKeyring
from s3cse import errors as e
from s3cse.aio import AsyncEncryptionClient
from s3cse.core.integrity import CHUNK_SIZE, IndexMismatchError, StaleIndexError
from s3cse.keyrings import AsyncKmsKeyring, CachingMaterialsManager
from s3cse.reader import ObjectReader
from s3cse.transfer import TransferConfig

from ..conftest import AsyncStack
from ..keys import aes_keyring

pytestmark = pytest.mark.integration

MiB = 1024 * 1024
THREADS = 8
TASKS = 8
PARTS = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, max_concurrency=3)
# RSS growth from the end of the warm-up to the end, at rest: measured 5-10 MiB with large
# blocks mapped one by one (see large_blocks_mapped), up to ~110 MiB without (the heap
# arenas still growing to their high-water mark). The main phase of a 20 s run makes
# ~1,000 operations: leaking 100 KiB in each would cross the first limit.
RSS_GROWTH_LIMIT = 64 * MiB
RSS_GROWTH_LIMIT_ARENAS = 200 * MiB
SYNC_OPS = ("put", "get", "range", "reader", "upload", "download", "overwrite", "delete")
ASYNC_OPS = tuple(op for op in SYNC_OPS if op != "reader")  # ObjectReader is sync only
WEIGHTS = {
    "put": 16,
    "get": 18,
    "range": 18,
    "reader": 12,
    "upload": 3,
    "download": 4,
    "overwrite": 16,
    "delete": 8,
}
SMALL_EDGES = (0, 1, 15, 16, 17, 4095, 4096, 4097, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1)


# ---------------------------------------------------------------------- content


def content(seed: int, key: str, version: str, first: int, last: int) -> bytes:
    """Bytes ``first..last`` (inclusive) of one version of one key: AES-CTR keystream
    under a key made from (seed, key, version), so any slice costs only its own length."""
    if last < first:
        return b""
    stream_key = hashlib.sha256(f"{seed}\0{key}\0{version}".encode()).digest()
    block, skip = divmod(first, 16)
    stream = Cipher(algorithms.AES(stream_key), modes.CTR(block.to_bytes(16, "big"))).encryptor()
    return stream.update(bytes(skip + last - first + 1))[skip:]


def differing(data: Any, expected: bytes) -> int:
    """Bytes that differ, counting a length difference as that many bytes."""
    return sum(1 for x, y in zip(bytes(data), expected, strict=False) if x != y) + abs(
        len(data) - len(expected)
    )


@dataclass(frozen=True)
class Version:
    name: str
    size: int
    digest: bytes


@dataclass
class Slot:
    """One object key and what may be read from it."""

    key: str
    keyring: str
    """"kms" or "aes": the keyring (and so the client) that writes and reads it."""
    indexed: bool = False
    """Written with IntegrityIndex=True: ranges are authenticated through the index."""
    big: bool = False
    """Written by multipart uploads, read by parallel downloads."""
    shared_size: int | None = None
    """Set for a key that every worker writes (each version this long)."""
    current: Version | None = None
    """A private key: what S3 holds now (None: nothing)."""
    versions: dict[str, Version] = field(default_factory=dict)
    """A shared key: every version written to it, registered before its write starts."""
    writers: set[str] = field(default_factory=set)
    broken: bool = False
    """A write to this private key failed unexpectedly: its content is unknown."""

    @property
    def shared(self) -> bool:
        return self.shared_size is not None

    def size(self) -> int:
        if self.shared_size is not None:
            return self.shared_size
        return self.current.size if self.current is not None else 1


@dataclass
class Tally:
    ops: Counter[str] = field(default_factory=Counter)
    """Operations that ended as they should."""
    checked: Counter[str] = field(default_factory=Counter)
    """Of those, the ones whose bytes were written, or read back and checked."""
    absent: Counter[str] = field(default_factory=Counter)
    """Reads that found no object (deleted, or not written yet), as expected."""
    races: Counter[str] = field(default_factory=Counter)
    """Reads of a shared key stopped by a concurrent write, by kind: "etag" (the object
    changed under a read pinned to it), "index" (object and index of different writes)."""
    bytes: int = 0
    corrupted: int = 0
    failures: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        self.ops += other.ops
        self.checked += other.checked
        self.absent += other.absent
        self.races += other.races
        self.bytes += other.bytes
        self.corrupted += other.corrupted
        self.failures += other.failures


class Load:
    """The keys every worker shares, and what a run has written to them."""

    def __init__(self, seed: int, bucket: str, prefix: str) -> None:
        self.seed, self.bucket, self.prefix = seed, bucket, prefix
        self.lock = threading.Lock()
        self.shared_kms = [
            Slot(f"{prefix}/shared/kms-{n}", "kms", shared_size=n) for n in (1000, 70_001)
        ]
        self.shared_aes = [
            Slot(f"{prefix}/shared/aes-{n}", "aes", shared_size=n)
            for n in (33_333, 3 * CHUNK_SIZE + 17)
        ]
        # object and index are two writes: concurrent writers can pair one's object with
        # the other's index for a while; reads must then fail, never return their bytes
        self.shared_index = Slot(
            f"{prefix}/shared/kms-index", "kms", indexed=True, shared_size=2 * CHUNK_SIZE + 100
        )
        self.shared_big_kms = Slot(
            f"{prefix}/shared/kms-big", "kms", big=True, shared_size=11 * MiB + 4321
        )
        self.shared_big_aes = Slot(
            f"{prefix}/shared/aes-big", "aes", big=True, shared_size=7 * MiB + 5
        )

    def shared(self) -> list[Slot]:
        return [
            *self.shared_kms,
            self.shared_index,
            *self.shared_aes,
            self.shared_big_kms,
            self.shared_big_aes,
        ]

    def register(self, slot: Slot, writer: str, version: Version) -> None:
        with self.lock:
            slot.versions[version.name] = version
            slot.writers.add(writer)

    def candidates(self, slot: Slot) -> list[Version]:
        """What a read of ``slot`` may return, the likeliest first."""
        if not slot.shared:
            return [slot.current] if slot.current is not None else []
        with self.lock:
            return list(slot.versions.values())[::-1]


# ---------------------------------------------------------------------- workers


class Worker:
    """What the sync and async workers share: choices, content and checks."""

    OPS: tuple[str, ...] = SYNC_OPS

    def __init__(self, load: Load, name: str, index: int) -> None:
        self.load, self.name, self.index = load, name, index
        self.rng = random.Random(f"{load.seed}/{name}")
        self.tally = Tally()
        self.written = 0
        self.small: list[Slot] = []
        self.big: list[Slot] = []
        self.shared_small: list[Slot] = []
        self.shared_big: list[Slot] = []

    def slots(self) -> list[Slot]:
        return [*self.small, *self.big, *self.shared_small, *self.shared_big]

    def ops(self, deadline: float) -> Iterator[str]:
        """Every operation once (rotated per worker), then a weighted random mix."""
        first = self.index % len(self.OPS)
        yield from self.OPS[first:] + self.OPS[:first]
        weights = [WEIGHTS[op] for op in self.OPS]
        while time.monotonic() < deadline:
            yield self.rng.choices(self.OPS, weights)[0]

    # choices

    def pick(self, slots: Iterable[Slot], big_share: float = 0.1) -> Slot | None:
        usable = [s for s in slots if not s.broken]
        small = [s for s in usable if not s.big]
        big = [s for s in usable if s.big]
        if big and (not small or self.rng.random() < big_share):
            return self.rng.choice(big)
        return self.rng.choice(small) if small else None

    def small_size(self) -> int:
        if self.rng.random() < 0.3:
            return self.rng.choice(SMALL_EDGES)
        return self.rng.randint(18, 3 * CHUNK_SIZE + 1000)

    def big_size(self) -> int:
        return self.rng.randint(PARTS.multipart_chunksize, 12 * MiB)

    def byte_range(self, size: int) -> tuple[str, int, int]:
        """A Range header for an object of ``size`` > 0 bytes, and the bytes it covers."""
        rng = self.rng
        kind = rng.choice(("span", "span", "open", "suffix", "tail", "boundary"))
        if kind == "span":
            first = rng.randrange(size)
            last = first + rng.randrange(3 * CHUNK_SIZE)
            return f"bytes={first}-{last}", first, min(last, size - 1)
        if kind == "open":
            first = rng.randrange(size)
            return f"bytes={first}-", first, size - 1
        if kind == "suffix":
            count = rng.randint(1, size + 40)
            return f"bytes=-{count}", max(size - count, 0), size - 1
        if kind == "tail":  # the last few bytes, sometimes asked past the end
            first = max(size - rng.randint(1, 40), 0)
            last = size - 1 + rng.choice((0, 0, 1, 1000))
            return f"bytes={first}-{last}", first, size - 1
        step = rng.choice((16, CHUNK_SIZE, PARTS.multipart_chunksize))
        edge = rng.randrange(0, size, step)
        first = max(edge - rng.randrange(18), 0)
        last = edge + rng.randrange(18)
        return f"bytes={first}-{last}", first, min(last, size - 1)

    def reads(self, size: int) -> tuple[list[tuple[int, int]], bool]:
        """(first, last) reads for an ObjectReader, and whether they cover the object
        from its start to its end, one after another."""
        rng = self.rng
        if size and rng.random() < 0.3:
            cuts = sorted(rng.sample(range(1, size), min(rng.randint(1, 3), size - 1)))
            edges = [0, *cuts, size]
            return [(a, b - 1) for a, b in itertools.pairwise(edges)], True
        plan = []
        for _ in range(rng.randint(2, 6)):
            if size and rng.random() < 0.3:
                plan.append((max(size - rng.randint(1, 40), 0), size - 1 + rng.randrange(3)))
            else:
                first = rng.randrange(size + 1)
                plan.append((first, first + rng.randrange(2 * CHUNK_SIZE)))
        return plan, False

    # content and checks

    def new_version(self, slot: Slot, size: int) -> tuple[Version, bytes]:
        """A fresh version of ``slot``, registered before anything is written."""
        name = f"{self.name}.{self.written}"
        self.written += 1
        data = content(self.load.seed, slot.key, name, 0, size - 1)
        version = Version(name, size, hashlib.sha256(data).digest())
        if slot.shared:
            self.load.register(slot, self.name, version)
        return version, data

    def stored(self, slot: Slot, version: Version) -> None:
        if not slot.shared:
            slot.current = version

    def uploaded(self, op: str, slot: Slot, version: Version, data: bytes, seen: list[int]) -> None:
        """Record a finished upload; its progress callbacks must add up to its size."""
        self.stored(slot, version)
        if sum(seen) != len(data):
            self.fail(op, slot, f"progress reported {sum(seen)} of {len(data)} bytes")
        self.tally.bytes += len(data)
        self.tally.checked[op] += 1

    def fail(self, op: str, slot: Slot, message: str) -> None:
        self.tally.failures.append(f"{self.name} {op} {slot.key}: {message}")

    def verdict(
        self,
        op: str,
        slot: Slot,
        data: Any,
        names: set[str],
        candidates: list[Any],
        what: str,
        expected: Any,
    ) -> set[str]:
        """Count a read that matched ``names``; otherwise record the failure and how
        many bytes differ from the closest of the versions it could have been."""
        if names:
            self.tally.checked[op] += 1
            return names
        if not candidates:
            self.fail(op, slot, f"read {len(data)} bytes where nothing should be")
            self.tally.corrupted += len(data)
            return names
        wrong = min(differing(data, expected(v)) for v in candidates[:4])
        self.tally.corrupted += wrong
        self.fail(
            op,
            slot,
            f"{what} match no version written ({wrong} differ from the "
            f"closest of {len(candidates)})",
        )
        return names

    def check_whole(self, op: str, slot: Slot, data: Any) -> set[str]:
        """``data`` must be one whole version; the names of those it is."""
        candidates = self.load.candidates(slot)
        digest = hashlib.sha256(data).digest()
        names = {v.name for v in candidates if v.size == len(data) and v.digest == digest}
        self.tally.bytes += len(data)
        return self.verdict(
            op,
            slot,
            data,
            names,
            candidates,
            f"{len(data)} bytes",
            lambda v: content(self.load.seed, slot.key, v.name, 0, v.size - 1),
        )

    def check_range(self, op: str, slot: Slot, first: int, last: int, data: Any) -> set[str]:
        """``data`` must be bytes ``first..last`` of one version; the names of those."""
        candidates = self.load.candidates(slot)
        self.tally.bytes += len(data)
        seed, key = self.load.seed, slot.key
        names = set()
        for v in candidates:
            end = min(last, v.size - 1)
            if len(data) != max(end - first + 1, 0):
                continue
            if data[:16] != content(seed, key, v.name, first, min(first + 15, end)):
                continue
            if data == content(seed, key, v.name, first, end):
                names.add(v.name)
        return self.verdict(
            op,
            slot,
            data,
            names,
            candidates,
            f"bytes {first}-{last} ({len(data)} read)",
            lambda v: content(seed, key, v.name, first, min(last, v.size - 1)),
        )

    def check_reads(
        self, op: str, slot: Slot, size: int, results: list[tuple[int, int, bytes]]
    ) -> None:
        """The reads of one ObjectReader: each right, and all of one version."""
        common: set[str] | None = None
        for first, last, data in results:
            end = min(last, size - 1)
            if first > end:
                if data:
                    self.fail(
                        op, slot, f"read({first}, {last}) past the end gave {len(data)} bytes"
                    )
                    self.tally.corrupted += len(data)
                continue
            names = self.check_range(op, slot, first, end, data)
            common = names if common is None else common & names
        if common is not None and not common:
            self.fail(op, slot, "the reads of one ObjectReader came from different versions")

    def outcome(self, op: str, slot: Slot, exc: BaseException, reading: bool) -> None:
        """Sort an exception: an expected absence or race, else a failure."""
        if (
            reading
            and isinstance(exc, e.ObjectNotFoundError)
            and (slot.shared or slot.current is None)
        ):
            self.tally.absent[op] += 1
            self.tally.ops[op] += 1
            return
        if (
            reading
            and slot.shared
            and isinstance(exc, e.S3RequestError)
            and ("PreconditionFailed" in str(exc))
        ):
            self.tally.races["etag"] += 1
            self.tally.ops[op] += 1
            return
        if (
            reading
            and slot.shared
            and slot.indexed
            and (
                isinstance(exc, (IndexMismatchError, StaleIndexError))
                or (isinstance(exc, e.ConfigurationError) and "no integrity index" in str(exc))
            )
        ):
            # the index of another write than the object's (read as stale when its header
            # names another version), or none yet (or any more)
            self.tally.races["index"] += 1
            self.tally.ops[op] += 1
            return
        if not reading and not slot.shared:
            slot.broken = True
        self.fail(op, slot, f"{type(exc).__name__}: {exc}")


class SyncWorker(Worker):
    """A thread on the shared sync clients."""

    def __init__(self, load: Load, index: int, clients: dict[str, EncryptionClient]) -> None:
        super().__init__(load, f"t{index}", index)
        self.clients = clients
        base = f"{load.prefix}/t{index}"
        self.small = [
            Slot(f"{base}/kms-index", "kms", indexed=True),
            Slot(f"{base}/kms", "kms"),
            Slot(f"{base}/aes", "aes"),
        ]
        keyring = "kms" if index % 2 else "aes"
        self.big = [Slot(f"{base}/{keyring}-big", keyring, big=True)]
        self.shared_small = [*load.shared_kms, load.shared_index, *load.shared_aes]
        self.shared_big = [load.shared_big_kms, load.shared_big_aes]

    def client(self, slot: Slot) -> EncryptionClient:
        return self.clients[slot.keyring]

    def ranged(self, slot: Slot) -> bool:
        """The sync AES client allows unauthenticated ranges; the KMS one needs an index."""
        return slot.indexed or slot.keyring == "aes"

    def run(self, deadline: float) -> None:
        try:
            for op in self.ops(deadline):
                getattr(self, f"do_{op}")(op)
        except BaseException as exc:  # a fault of the test itself: report it, never hang
            self.tally.failures.append(f"{self.name} stopped: {exc!r}")

    def attempt(
        self, op: str, slot: Slot | None, action: Callable[[Slot], None], reading: bool = True
    ) -> None:
        if slot is None:
            return
        try:
            action(slot)
        except Exception as exc:
            self.outcome(op, slot, exc, reading)
        else:
            self.tally.ops[op] += 1

    def prepare(self) -> None:
        for slot in self.small:
            self.attempt("put", slot, self.put, reading=False)

    def put(self, slot: Slot) -> None:
        version, data = self.new_version(slot, slot.shared_size or self.small_size())
        self.client(slot).put_object(
            Bucket=self.load.bucket, Key=slot.key, Body=data, IntegrityIndex=slot.indexed
        )
        self.stored(slot, version)
        self.tally.bytes += len(data)
        self.tally.checked["overwrite" if slot.shared else "put"] += 1

    def do_put(self, op: str) -> None:
        self.attempt(op, self.pick(self.small), self.put, reading=False)

    def do_overwrite(self, op: str) -> None:
        self.attempt(op, self.pick(self.shared_small), self.put, reading=False)

    def do_get(self, op: str) -> None:
        def get(slot: Slot) -> None:
            response = self.client(slot).get_object(Bucket=self.load.bucket, Key=slot.key)
            data = response["Body"].read()
            if response["ContentLength"] != len(data):
                self.fail(
                    op, slot, f"ContentLength {response['ContentLength']} for {len(data)} bytes"
                )
            self.check_whole(op, slot, data)

        self.attempt(
            op,
            self.pick(
                [*self.small, *self.shared_small, *self.big, *self.shared_big], big_share=0.05
            ),
            get,
        )

    def do_range(self, op: str) -> None:
        def get_range(slot: Slot) -> None:
            size = slot.size()
            header, first, last = self.byte_range(size)
            response = self.client(slot).get_object(
                Bucket=self.load.bucket, Key=slot.key, Range=header
            )
            data = response["Body"].read()
            if response.get("ContentRange") != f"bytes {first}-{last}/{size}":
                self.fail(
                    op,
                    slot,
                    f"{header}: ContentRange {response.get('ContentRange')}, "
                    f"expected bytes {first}-{last}/{size}",
                )
            self.check_range(op, slot, first, last, data)

        choices = [s for s in self.slots() if self.ranged(s) and s.size() > 0]
        self.attempt(op, self.pick(choices, big_share=0.2), get_range)

    def do_reader(self, op: str) -> None:
        def read(slot: Slot) -> None:
            client = self.client(slot)
            with ObjectReader(client, self.load.bucket, slot.key) as reader:
                expected = (
                    "indexed"
                    if slot.indexed
                    else "whole"
                    if slot.keyring == "kms"
                    else "unauthenticated"
                )
                # a shared object may lack its index for a moment (see Load.shared_index)
                if reader.mode != expected and not (
                    slot.shared and slot.indexed and reader.mode == "whole"
                ):
                    self.fail(op, slot, f"mode {reader.mode}, expected {expected}")
                plan, whole = self.reads(reader.size)
                results = [(first, last, reader.read(first, last)) for first, last in plan]
                self.check_reads(op, slot, reader.size, results)
                if whole and reader.size and not reader.verified and reader.mode != "indexed":
                    self.fail(
                        op,
                        slot,
                        f"a complete sequential read in {reader.mode} mode did not verify the tag",
                    )

        self.attempt(op, self.pick(self.slots(), big_share=0.1), read)

    def do_upload(self, op: str) -> None:
        def upload(slot: Slot) -> None:
            version, data = self.new_version(slot, slot.shared_size or self.big_size())
            seen: list[int] = []
            self.client(slot).upload_fileobj(
                io.BytesIO(data), self.load.bucket, slot.key, Config=PARTS, Callback=seen.append
            )
            self.uploaded(op, slot, version, data, seen)

        self.attempt(
            op, self.pick([*self.big, *self.shared_big], big_share=1.0), upload, reading=False
        )

    def do_download(self, op: str) -> None:
        def download(slot: Slot) -> None:
            sink = io.BytesIO()
            written = self.client(slot).download_fileobj(
                self.load.bucket, slot.key, sink, Config=PARTS
            )
            with sink.getbuffer() as view:
                if written != len(view):
                    self.fail(op, slot, f"returned {written} for {len(view)} bytes")
                self.check_whole(op, slot, view)

        self.attempt(op, self.pick([*self.big, *self.shared_big], big_share=1.0), download)

    def do_delete(self, op: str) -> None:
        def delete(slot: Slot) -> None:
            self.client(slot).delete_object(Bucket=self.load.bucket, Key=slot.key)
            if not slot.shared:
                slot.current = None
            self.tally.checked[op] += 1

        roll = self.rng.random()
        slots = self.shared_small if roll < 0.2 else self.big if roll < 0.3 else self.small
        self.attempt(op, self.pick(slots, big_share=1.0), delete, reading=False)


class AsyncWorker(Worker):
    """A task on the shared async client (KMS keys only)."""

    OPS = ASYNC_OPS

    def __init__(self, load: Load, index: int, client: AsyncEncryptionClient) -> None:
        super().__init__(load, f"a{index}", index)
        self.client = client
        base = f"{load.prefix}/a{index}"
        self.small = [Slot(f"{base}/kms-index", "kms", indexed=True), Slot(f"{base}/kms", "kms")]
        self.big = [Slot(f"{base}/kms-big", "kms", big=True)]
        self.shared_small = [*load.shared_kms, load.shared_index]
        self.shared_big = [load.shared_big_kms]

    async def run(self, deadline: float) -> None:
        try:
            for op in self.ops(deadline):
                await getattr(self, f"do_{op}")(op)
        except BaseException as exc:  # a fault of the test itself: report it, never hang
            self.tally.failures.append(f"{self.name} stopped: {exc!r}")

    async def attempt(
        self,
        op: str,
        slot: Slot | None,
        action: Callable[[Slot], Awaitable[None]],
        reading: bool = True,
    ) -> None:
        if slot is None:
            return
        try:
            await action(slot)
        except Exception as exc:
            self.outcome(op, slot, exc, reading)
        else:
            self.tally.ops[op] += 1

    async def prepare(self) -> None:
        for slot in self.small:
            await self.attempt("put", slot, self.put, reading=False)

    async def put(self, slot: Slot) -> None:
        version, data = self.new_version(slot, slot.shared_size or self.small_size())
        await self.client.put_object(
            Bucket=self.load.bucket, Key=slot.key, Body=data, IntegrityIndex=slot.indexed
        )
        self.stored(slot, version)
        self.tally.bytes += len(data)
        self.tally.checked["overwrite" if slot.shared else "put"] += 1

    async def do_put(self, op: str) -> None:
        await self.attempt(op, self.pick(self.small), self.put, reading=False)

    async def do_overwrite(self, op: str) -> None:
        await self.attempt(op, self.pick(self.shared_small), self.put, reading=False)

    async def do_get(self, op: str) -> None:
        async def get(slot: Slot) -> None:
            response = await self.client.get_object(Bucket=self.load.bucket, Key=slot.key)
            async with response["Body"] as body:
                data = await body.read()
            if response["ContentLength"] != len(data):
                self.fail(
                    op, slot, f"ContentLength {response['ContentLength']} for {len(data)} bytes"
                )
            await asyncio.to_thread(self.check_whole, op, slot, data)

        await self.attempt(op, self.pick(self.slots(), big_share=0.05), get)

    async def do_range(self, op: str) -> None:
        async def get_range(slot: Slot) -> None:
            size = slot.size()
            header, first, last = self.byte_range(size)
            response = await self.client.get_object(
                Bucket=self.load.bucket, Key=slot.key, Range=header
            )
            async with response["Body"] as body:
                data = await body.read()
            if response.get("ContentRange") != f"bytes {first}-{last}/{size}":
                self.fail(
                    op,
                    slot,
                    f"{header}: ContentRange {response.get('ContentRange')}, "
                    f"expected bytes {first}-{last}/{size}",
                )
            self.check_range(op, slot, first, last, data)

        # the async client leaves unauthenticated ranges off: indexed keys only
        await self.attempt(
            op, self.pick([s for s in self.slots() if s.indexed and s.size() > 0]), get_range
        )

    async def do_upload(self, op: str) -> None:
        async def upload(slot: Slot) -> None:
            version, data = await asyncio.to_thread(
                self.new_version, slot, slot.shared_size or self.big_size()
            )
            seen: list[int] = []
            await self.client.upload_fileobj(
                io.BytesIO(data), self.load.bucket, slot.key, Config=PARTS, Callback=seen.append
            )
            self.uploaded(op, slot, version, data, seen)

        await self.attempt(
            op, self.pick([*self.big, *self.shared_big], big_share=1.0), upload, reading=False
        )

    async def do_download(self, op: str) -> None:
        async def download(slot: Slot) -> None:
            sink = io.BytesIO()
            written = await self.client.download_fileobj(
                self.load.bucket, slot.key, sink, Config=PARTS
            )
            with sink.getbuffer() as view:
                if written != len(view):
                    self.fail(op, slot, f"returned {written} for {len(view)} bytes")
                await asyncio.to_thread(self.check_whole, op, slot, view)

        await self.attempt(op, self.pick([*self.big, *self.shared_big], big_share=1.0), download)

    async def do_delete(self, op: str) -> None:
        async def delete(slot: Slot) -> None:
            await self.client.delete_object(Bucket=self.load.bucket, Key=slot.key)
            if not slot.shared:
                slot.current = None
            self.tally.checked[op] += 1

        roll = self.rng.random()
        slots = self.shared_small if roll < 0.2 else self.big if roll < 0.3 else self.small
        await self.attempt(op, self.pick(slots, big_share=1.0), delete, reading=False)


# ---------------------------------------------------------------------- memory


def resident_bytes() -> int | None:
    """The resident set size of this process: /proc on Linux, else psutil if present."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil
    except ImportError:
        return None
    rss: int = psutil.Process().memory_info().rss
    return rss


def glibc() -> Any:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except (OSError, TypeError):
        return None


@contextlib.contextmanager
def large_blocks_mapped() -> Iterator[bool]:
    """With glibc: every block of 256 KiB or more gets a mapping of its own, unmapped when
    freed, so that the resident set at rest tracks live memory and not the high-water
    mark of the heap arenas (glibc otherwise raises that threshold up to the largest
    block freed, ~12 MiB here, and keeps such blocks in arenas per thread). Whether it
    could be set; the default threshold comes back on exit."""
    libc = glibc()
    m_mmap_threshold = -3
    if libc is None or not libc.mallopt(m_mmap_threshold, 256 * 1024):
        yield False
        return
    try:
        yield True
    finally:
        libc.mallopt(m_mmap_threshold, 128 * 1024)


def resident_at_rest() -> int | None:
    """RSS with every worker stopped, garbage collected, freed heap given back (glibc)."""
    gc.collect()
    libc = glibc()
    if libc is not None:
        libc.malloc_trim(0)
    return resident_bytes()


def handles() -> tuple[int, int | None]:
    """Threads alive, and open file descriptors where /proc tells."""
    try:
        fds: int | None = len(os.listdir("/proc/self/fd"))
    except OSError:
        fds = None
    return threading.active_count(), fds


# ---------------------------------------------------------------------- the test


def run_phase(
    sync_workers: list[SyncWorker],
    async_workers: list[AsyncWorker],
    async_stack: AsyncStack,
    seconds: float,
    prepare: bool = False,
) -> None:
    """Every worker at once until ``seconds`` have passed (operations under way finish)."""
    deadline = time.monotonic() + seconds

    def thread(worker: SyncWorker) -> None:
        if prepare:
            worker.prepare()
        worker.run(deadline)

    async def tasks() -> None:
        async def task(worker: AsyncWorker) -> None:
            if prepare:
                await worker.prepare()
            await worker.run(deadline)

        await asyncio.gather(*(task(w) for w in async_workers))

    threads = [
        threading.Thread(target=thread, args=(w,), name=f"load-{w.name}") for w in sync_workers
    ]
    for t in threads:
        t.start()
    try:
        async_stack.runner.run(tasks())
    finally:
        for t in threads:
            t.join()


def final_check(
    load: Load, workers: list[Worker], clients: dict[str, EncryptionClient], tally: Tally
) -> None:
    """At rest: every private key holds exactly its last write (or nothing once deleted),
    every shared key one whole version written to it (or nothing)."""
    checker = Worker(load, "final", 0)
    slots = [s for w in workers for s in (*w.small, *w.big)] + load.shared()
    for slot in slots:
        if slot.broken:
            continue
        try:
            data = clients[slot.keyring].get_object(Bucket=load.bucket, Key=slot.key)["Body"].read()
        except e.ObjectNotFoundError:
            if slot.current is not None:
                checker.fail("final", slot, f"missing; expected version {slot.current.name}")
            continue
        except Exception as exc:
            checker.fail("final", slot, f"{type(exc).__name__}: {exc}")
            continue
        names = checker.check_whole("final", slot, data)
        if not slot.shared and slot.current is not None and names != {slot.current.name}:
            checker.fail(
                "final", slot, f"holds {names or 'no version'}, expected {slot.current.name}"
            )
    tally.corrupted += checker.tally.corrupted
    tally.failures += checker.tally.failures


def test_mixed_load_on_shared_clients(
    s3: Any,
    kms: Any,
    kms_key_id: str,
    bucket: str,
    key_name: str,
    async_stack: AsyncStack,
    capsys: pytest.CaptureFixture[str],
) -> None:
    seconds = float(os.environ.get("S3CSE_LOAD_SECONDS") or 20)
    seed = int(os.environ.get("S3CSE_LOAD_SEED") or random.SystemRandom().randrange(2**32))
    warm_up = min(max(5.0, seconds / 4), seconds / 2)
    load = Load(seed, bucket, key_name)
    clients = {
        "kms": EncryptionClient(KmsKeyring(kms_key_id, kms_client=kms), s3_client=s3),
        "aes": EncryptionClient(aes_keyring(0), s3_client=s3, unauthenticated_ranges=True),
    }
    async_client = AsyncEncryptionClient(
        materials=CachingMaterialsManager(AsyncKmsKeyring(kms_key_id, kms_client=async_stack.kms)),
        s3_client=async_stack.s3,
    )
    sync_workers = [SyncWorker(load, i, clients) for i in range(THREADS)]
    async_workers = [AsyncWorker(load, i, async_client) for i in range(TASKS)]
    workers: list[Worker] = [*sync_workers, *async_workers]

    with large_blocks_mapped() as precise:
        started = time.monotonic()
        run_phase(sync_workers, async_workers, async_stack, warm_up, prepare=True)
        rss_warm, handles_warm = resident_at_rest(), handles()
        run_phase(sync_workers, async_workers, async_stack, seconds - warm_up)
        elapsed = time.monotonic() - started
        rss_end, handles_end = resident_at_rest(), handles()
    limit = RSS_GROWTH_LIMIT if precise else RSS_GROWTH_LIMIT_ARENAS

    total, sync_total, async_total = Tally(), Tally(), Tally()
    for worker in workers:
        (sync_total if isinstance(worker, SyncWorker) else async_total).add(worker.tally)
    total.add(sync_total)
    total.add(async_total)
    final_check(load, workers, clients, total)

    ops = sum(total.ops.values())
    growth = None
    memory = "RSS not measurable here"
    if rss_warm is not None and rss_end is not None:
        growth = rss_end - rss_warm
        memory = f"RSS {rss_warm / MiB:.0f} -> {rss_end / MiB:.0f} MiB at rest"
    memory += (
        f", threads {handles_warm[0]} -> {handles_end[0]}, fds {handles_warm[1]} -> "
        f"{handles_end[1]}"
    )
    with capsys.disabled():
        print(
            f"\nmixed load, seed {seed}: {THREADS} threads + {TASKS} tasks, {elapsed:.0f} s, "
            f"{ops} ops ({ops / elapsed:.1f} ops/s), {total.bytes / MiB:.0f} MiB checked "
            f"({total.bytes / MiB / elapsed:.1f} MiB/s), {total.corrupted} corrupted bytes, "
            f"{len(total.failures)} failures, races {dict(total.races)}, absent "
            f"{sum(total.absent.values())}, {memory}; "
            + " ".join(f"{op} {total.ops[op]}" for op in SYNC_OPS)
        )

    context = f"(S3CSE_LOAD_SEED={seed})"
    assert not total.failures, f"{len(total.failures)} failures {context}:\n" + "\n".join(
        total.failures[:20]
    )
    assert total.corrupted == 0, context
    for side, tally, names in (
        ("threads", sync_total, SYNC_OPS),
        ("tasks", async_total, ASYNC_OPS),
    ):
        missing = [op for op in names if not tally.checked[op]]
        assert not missing, f"{side} never completed {missing} {context}"
    for slot in [*load.shared_kms, load.shared_index, *load.shared_aes]:
        assert len(slot.writers) >= 2, f"{slot.key} written by {slot.writers} {context}"
    kms_writers = set().union(*(s.writers for s in [*load.shared_kms, load.shared_index]))
    assert {w[0] for w in kms_writers} == {"t", "a"}, f"threads and tasks overwrite {context}"
    # thread pools and spooled bodies end with their operations
    assert handles_end[0] <= handles_warm[0] + 8, f"threads {handles_warm} -> {handles_end}"
    if handles_warm[1] is not None and handles_end[1] is not None:
        assert handles_end[1] <= handles_warm[1] + 32, f"fds {handles_warm} -> {handles_end}"
    if growth is not None:
        assert growth < limit, (
            f"RSS grew by {growth / MiB:.0f} MiB between the warm-up and the end {context}"
        )
