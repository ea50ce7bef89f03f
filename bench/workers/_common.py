"""What every benchmark worker shares (standard library only: workers run in several venvs).

A worker is started as ``python WORKER.py '<json job>'`` with the local stack's AWS_*
variables in its environment, does one workload, and prints one JSON line: the timings it
measured around the operations themselves (imports and client set-up excluded), plus
facts about itself. The result carries the worker's peak RSS: ``VmHWM`` (the high-water mark of the
process's own memory since exec), not ``ru_maxrss`` from wait4, which on Linux also keeps
the parent's RSS at the moment of fork/vfork.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import statistics
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, BinaryIO, cast

MiB = 1024 * 1024
READ_CHUNK = MiB


def job() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(sys.argv[1])
    return loaded


def emit(result: dict[str, Any]) -> None:
    result.setdefault("rss_after_setup_mib", None)
    result["vm_hwm_mib"] = _status_mib("VmHWM:")
    if result["vm_hwm_mib"] is None:  # not Linux: ru_maxrss (bytes on macOS, KiB elsewhere)
        import resource

        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        result["vm_hwm_mib"] = maxrss / (MiB if sys.platform == "darwin" else 1024)
    print(json.dumps(result), flush=True)


def _status_mib(field: str) -> float | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def vm_rss_mib() -> float | None:
    """Resident set size now, from /proc (Linux); None elsewhere."""
    return _status_mib("VmRSS:")


class Clock:
    """Accumulates wall-clock seconds (and the process's CPU seconds, all threads) of the
    timed sections only."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.cpu_seconds = 0.0
        self.samples: list[float] = []

    @contextmanager
    def timed(self) -> Iterator[None]:
        start, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            self.cpu_seconds += time.process_time() - cpu
            self.seconds += elapsed
            self.samples.append(elapsed)

    def totals(self) -> dict[str, float]:
        return {"seconds": self.seconds, "cpu_seconds": self.cpu_seconds}

    def median(self) -> float:
        return statistics.median(self.samples)


def timed_transfer(
    job: dict[str, Any],
    by_name: Callable[[str], object],
    by_stream: Callable[[BinaryIO], object],
) -> dict[str, Any]:
    """Upload from or download to ``job["file"]``: by name, or (``job["pipe"]``) through a
    file object opened on it, which is then a FIFO the benchmark feeds or drains, so the
    client sees a pipe it cannot seek or size. Opening the FIFO (waiting for the other
    end) is not timed."""
    clock = Clock()
    if job.get("pipe"):
        mode = "rb" if job["workload"] == "upload" else "wb"
        with open(job["file"], mode) as stream, clock.timed():
            by_stream(cast(BinaryIO, stream))
    else:
        with clock.timed():
            by_name(job["file"])
    return {**clock.totals(), "pipe": bool(job.get("pipe"))}


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        for chunk in iter(lambda: source.read(8 * MiB), b""):
            digest.update(chunk)
    return digest.hexdigest()


def copy_stream(read: Callable[[int], bytes], path: str) -> int:
    """Write what ``read(n)`` yields to ``path`` in READ_CHUNK pieces; return the size."""
    written = 0
    with open(path, "wb") as sink:
        while chunk := read(READ_CHUNK):
            sink.write(chunk)
            written += len(chunk)
    return written


def last_range(size: int, length: int) -> tuple[int, int, str]:
    first = max(size - length, 0)
    return first, size - 1, f"bytes={first}-{size - 1}"


def small_bodies(count: int, size: int) -> list[bytes]:
    return [os.urandom(size) for _ in range(count)]


def botocore_config(job: dict[str, Any]) -> Any:
    """A botocore Config with enough pooled connections for the job's threads (the default
    10 would make the mixed load wait for connections), or None for the default."""
    if job.get("workload") != "load":
        return None
    from botocore.config import Config

    return Config(max_pool_connections=job["threads"] * (job.get("part_concurrency", 1) + 1))


def reset_kms_gate() -> None:
    """Zero the request counters of the local stack's KMS gate, if KMS is one."""
    kms = endpoint("kms")
    if kms is None:
        return
    request = urllib.request.Request(kms + "/_s3cse_gate/reset", data=b"", method="POST")
    with contextlib.suppress(OSError), urllib.request.urlopen(request, timeout=10):
        pass


def endpoint(service: str) -> str | None:
    return os.environ.get(f"AWS_ENDPOINT_URL_{service.upper()}")


def repeated_reads(read: Callable[[], bytes], job: dict[str, Any]) -> dict[str, Any]:
    """``job["reads"]`` timed reads after one untimed warm-up read; checks every result."""
    samples: list[float] = []
    correct = True
    for attempt in range(job["reads"] + 1):
        start = time.perf_counter()
        data = read()
        if attempt:
            samples.append(time.perf_counter() - start)
        correct = correct and hashlib.sha256(data).hexdigest() == job["expect_sha256"]
    return {
        "median_seconds": statistics.median(samples),
        "seconds": sum(samples),
        "reads": job["reads"] + 1,
        "correct": correct,
    }


def small_objects(
    put: Callable[[str, bytes], object], get: Callable[[str], bytes], job: dict[str, Any]
) -> dict[str, Any]:
    """``count`` sequential puts, then as many gets, of fresh random objects."""
    bodies = small_bodies(job["count"], job["object_size"])
    keys = [f"{job['prefix']}/{i}" for i in range(len(bodies))]
    puts, gets = Clock(), Clock()
    with puts.timed():
        for key, body in zip(keys, bodies, strict=True):
            put(key, body)
    correct = True
    with gets.timed():
        for key, body in zip(keys, bodies, strict=True):
            correct = get(key) == body and correct
    return {
        "put_seconds": puts.seconds,
        "get_seconds": gets.seconds,
        "seconds": puts.seconds + gets.seconds,
        "correct": correct,
    }


# ---------------------------------------------------------------------- mixed load

LOAD_WEIGHTS = {
    "put": 20,
    "get": 25,
    "range": 25,
    "upload": 3,
    "download": 5,
    "overwrite": 12,
    "delete": 10,
}
LOAD_SHARED_KEYS = 4
LOAD_OWN_KEYS = 4


@dataclass
class LoadCalls:
    """One client's operations for ``mixed_load``, on keys of the job's bucket.

    ``upload`` and ``download`` are the multipart / parallel ranged transfers (into and
    from memory); ``missing`` tells whether an exception says the object does not exist.
    """

    put: Callable[[str, bytes], object]
    get: Callable[[str], bytes]
    get_range: Callable[[str, str], bytes]
    upload: Callable[[str, bytes], object]
    download: Callable[[str], bytes]
    delete: Callable[[str], object]
    missing: Callable[[Exception], bool]


def load_body(seed: int, key: str, version: int, size: int) -> bytes:
    """The content of one version of one key: pseudo-random, reproducible."""
    return random.Random(f"{seed}/{key}/{version}").randbytes(size)


@dataclass
class _LoadState:
    """What a run has written: each key's current (version, size, SHA-256), shared
    keys every version ever written (a read may see any of them, never a mix)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    shared: dict[str, set[bytes]] = field(default_factory=dict)
    ops: Counter[str] = field(default_factory=Counter)
    bytes: int = 0
    missing: int = 0
    wrong: int = 0
    errors: list[str] = field(default_factory=list)


def mixed_load(calls: LoadCalls, job: dict[str, Any]) -> dict[str, Any]:
    """``threads`` threads on one shared client, for ``seconds``: a random mix of small
    puts, whole and ranged gets, multipart uploads and parallel downloads of a few MiB,
    overwrites of keys all threads write, and deletes. Every read is checked (whole
    reads by SHA-256, ranges against the regenerated content). Each thread first writes
    its own keys, untimed."""
    seed, prefix = job["seed"], job["prefix"]
    threads, seconds = job["threads"], job["seconds"]
    small_max, big_min, big_max = job["small_max"], job["big_min"], job["big_max"]
    state = _LoadState()
    shared_keys = [f"{prefix}/shared/{i}" for i in range(LOAD_SHARED_KEYS)]
    shared_size = {key: 1000 + 37_003 * i for i, key in enumerate(shared_keys)}
    for key in shared_keys:
        state.shared[key] = set()
    ready = threading.Barrier(threads + 1)
    start = threading.Event()
    deadline = [0.0]
    ops_names = list(LOAD_WEIGHTS)
    weights = [LOAD_WEIGHTS[op] for op in ops_names]

    def thread(index: int) -> None:
        rng = random.Random(f"{seed}/{index}")
        own = [f"{prefix}/t{index}/{i}" for i in range(LOAD_OWN_KEYS)]
        big = f"{prefix}/t{index}/big"
        current: dict[str, tuple[int, int, bytes] | None] = {}
        version = 0
        ops: Counter[str] = Counter()
        moved = missing = wrong = 0
        errors: list[str] = []

        def write(key: str, size: int, send: Callable[[str, bytes], object]) -> int:
            nonlocal version
            version += 1
            data = load_body(seed, key, version, size)
            digest = hashlib.sha256(data).digest()
            if key in state.shared:
                with state.lock:
                    state.shared[key].add(digest)
            send(key, data)
            current[key] = (version, size, digest)
            return size

        def whole_ok(key: str, data: bytes) -> bool:
            digest = hashlib.sha256(data).digest()
            if key in state.shared:
                with state.lock:
                    return digest in state.shared[key]
            known = current.get(key)
            return known is not None and known[2] == digest

        try:
            for key in own:
                write(key, rng.randint(1, small_max), calls.put)
            write(big, rng.randint(big_min, big_max), calls.upload)
        except Exception as exc:
            errors.append(f"set-up: {type(exc).__name__}: {exc}"[:300])
        ready.wait()
        start.wait()
        while time.monotonic() < deadline[0]:
            op = rng.choices(ops_names, weights)[0]
            key = big if op in ("upload", "download") else rng.choice(own)
            if op == "overwrite" or (op in ("get", "delete") and rng.random() < 0.3):
                key = rng.choice(shared_keys)
            try:
                if op in ("put", "overwrite"):
                    size = shared_size.get(key) or rng.randint(1, small_max)
                    moved += write(key, size, calls.put)
                elif op == "upload":
                    moved += write(key, rng.randint(big_min, big_max), calls.upload)
                elif op in ("get", "download"):
                    data = (calls.get if op == "get" else calls.download)(key)
                    moved += len(data)
                    wrong += not whole_ok(key, data)
                elif op == "range":
                    known = current.get(key)
                    if known is None:
                        calls.get_range(key, "bytes=0-0")
                        wrong += 1  # a deleted object read back
                    else:
                        number, size, _ = known
                        first = rng.randrange(size)
                        last = min(first + rng.randrange(128 * 1024), size - 1)
                        header = (
                            f"bytes=-{size - first}"
                            if rng.random() < 0.2
                            else f"bytes={first}-{last}"
                        )
                        if header.startswith("bytes=-"):
                            last = size - 1
                        data = calls.get_range(key, header)
                        moved += len(data)
                        expected = load_body(seed, key, number, size)[first : last + 1]
                        wrong += data != expected
                else:
                    calls.delete(key)
                    if key not in state.shared:
                        current[key] = None
            except Exception as exc:
                if calls.missing(exc) and (key in state.shared or current.get(key) is None):
                    missing += 1
                else:
                    errors.append(f"{op} {key}: {type(exc).__name__}: {exc}"[:300])
            ops[op] += 1
        with state.lock:
            state.ops += ops
            state.bytes += moved
            state.missing += missing
            state.wrong += wrong
            state.errors += errors

    workers = [threading.Thread(target=thread, args=(i,), name=f"load-{i}") for i in range(threads)]
    for worker in workers:
        worker.start()
    ready.wait()
    reset_kms_gate()  # count the timed operations' KMS calls only
    rss_before = vm_rss_mib()
    began, cpu = time.perf_counter(), time.process_time()
    deadline[0] = time.monotonic() + seconds
    start.set()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - began
    total = sum(state.ops.values())
    return {
        "seconds": elapsed,
        "cpu_seconds": time.process_time() - cpu,
        "threads": threads,
        "ops": total,
        "ops_by_kind": dict(state.ops),
        "bytes": state.bytes,
        "ops_per_second": total / elapsed,
        "mib_per_second": state.bytes / MiB / elapsed,
        "missing": state.missing,
        "wrong_reads": state.wrong,
        "errors": len(state.errors),
        "error_samples": state.errors[:3],
        "correct": state.wrong == 0 and not state.errors,
        "rss_before_load_mib": rss_before,
        "rss_after_load_mib": vm_rss_mib(),
    }
