"""What every benchmark worker shares (standard library only: workers run in several venvs).

A worker is started as ``python WORKER.py '<json job>'`` with the local stack's AWS_*
variables in its environment, does one workload, and prints one JSON line: the timings it
measured around the operations themselves (imports and client set-up excluded), plus
facts about itself. The result carries the worker's peak RSS: ``VmHWM`` (the high-water mark of the
process's own memory since exec), not ``ru_maxrss`` from wait4, which on Linux also keeps
the parent's RSS at the moment of fork/vfork.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

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
    return {"median_seconds": statistics.median(samples), "seconds": sum(samples),
            "reads": job["reads"] + 1, "correct": correct}


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
    return {"put_seconds": puts.seconds, "get_seconds": gets.seconds,
            "seconds": puts.seconds + gets.seconds, "correct": correct}
