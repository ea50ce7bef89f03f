"""The last 64 KiB of a large object: plain boto3 against s3cse, warm data-key cache.

One process, one local stack, the readers side by side in rotating order each round;
latency is the median of each round's reads, then the median of the rounds, and each
reader's ratio to plain boto3; client CPU is this process's (the servers run in their
own). S3 requests are counted as each client sends them; KMS calls at the KMS gate.
Readers:

- ``plain``: boto3 ``get_object(Range=...)`` of an unencrypted copy;
- ``s3cse-unauthenticated``: an object without an integrity index, read with
  ``unauthenticated_ranges=True`` (CTR, no check);
- ``s3cse-authenticated``: an object with an index (the default for ranges: verified);
- ``s3cse-authenticated-no-key-cache``: the same with the data-key cache off, so every
  read makes a KMS Decrypt (when the client has that switch).

    .venv/bin/python bench/ranged_tail.py --size-mib 256 --rounds 5 --reads 20
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from s3cse import EncryptionClient, KmsKeyring
from s3cse.core.config import CryptoConfig
from s3cse.local import stack as local
from s3cse.local.kms_gate import RESET_PATH, STATS_PATH

BUCKET = "s3cse-ranged"
MiB, KiB = 1024 * 1024, 1024


def gate(stack: local.LocalStack, path: str, method: str = "GET") -> dict[str, Any]:
    data = None if method == "GET" else b""
    request = urllib.request.Request(stack.kms_endpoint + path, data=data, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        answer: dict[str, Any] = json.loads(response.read())
        return answer


def counted(s3: Any) -> Counter[str]:
    counts: Counter[str] = Counter()
    s3.meta.events.register("before-send.s3", lambda request, **_: counts.update([request.method]))
    return counts


def write_source(path: Path, size: int) -> None:
    with path.open("wb") as f:
        left = size
        while left:
            step = min(left, 8 * MiB)
            f.write(os.urandom(step))
            left -= step


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--range-kib", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--reads", type=int, default=20)
    args = parser.parse_args()
    header = f"bytes=-{args.range_kib * KiB}"
    with tempfile.TemporaryDirectory(prefix="s3cse-ranged-") as tmp:
        stack = local.start(Path(tmp) / "stack", buckets=(BUCKET,), die_with_parent=True)
        try:
            return run(stack, Path(tmp), args, header)
        finally:
            local.stop(Path(tmp) / "stack")


def run(stack: local.LocalStack, tmp: Path, args: argparse.Namespace, header: str) -> int:
    os.environ.update(stack.env())
    key_id = local.create_kms_key(stack)
    source = tmp / "source.bin"
    write_source(source, args.size_mib * MiB)
    with source.open("rb") as f:
        f.seek(-args.range_kib * KiB, os.SEEK_END)
        tail = f.read()
    plain_s3 = local.stack_client(stack, "s3")
    plain_s3.upload_file(str(source), BUCKET, "plain")
    writer = EncryptionClient(KmsKeyring(key_id), s3_client=local.stack_client(stack, "s3"))
    writer.upload_file(str(source), BUCKET, "indexed", ExtraArgs={"IntegrityIndex": True})
    writer.upload_file(str(source), BUCKET, "unindexed")

    has_cache = "decrypt_cache_seconds" in {f.name for f in dataclasses.fields(CryptoConfig)}
    readers: dict[str, tuple[Callable[[], bytes], Counter[str]]] = {}

    def s3cse_reader(name: str, key: str, **options: Any) -> None:
        s3 = local.stack_client(stack, "s3")
        client = EncryptionClient(KmsKeyring(key_id), s3_client=s3, **options)

        def read() -> bytes:
            data: bytes = client.get_object(Bucket=BUCKET, Key=key, Range=header)["Body"].read()
            return data

        readers[name] = (read, counted(s3))

    def plain_read() -> bytes:
        data: bytes = plain_s3.get_object(Bucket=BUCKET, Key="plain", Range=header)["Body"].read()
        return data

    readers["plain"] = (plain_read, counted(plain_s3))
    s3cse_reader("s3cse-unauthenticated", "unindexed", unauthenticated_ranges=True)
    s3cse_reader("s3cse-authenticated", "indexed")
    if has_cache:
        s3cse_reader("s3cse-authenticated-no-key-cache", "indexed", decrypt_cache_seconds=0)

    for read, counts in readers.values():  # warm: connections, and the data-key cache
        assert read() == tail
        counts.clear()
    names = list(readers)
    medians: dict[str, list[float]] = {n: [] for n in names}
    kms: Counter[str] = Counter()
    cpu: Counter[str] = Counter()
    for r in range(args.rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            read, _ = readers[name]
            gate(stack, RESET_PATH, "POST")
            times = []
            cpu_start = time.process_time()
            for _ in range(args.reads):
                start = time.perf_counter()
                data = read()
                times.append(time.perf_counter() - start)
                assert data == tail
            cpu[name] += time.process_time() - cpu_start
            medians[name].append(statistics.median(times))
            kms[name] += gate(stack, STATS_PATH)["total"]
    total_reads = args.rounds * args.reads
    base = statistics.median(medians["plain"])
    print(
        f"last {args.range_kib} KiB of a {args.size_mib} MiB object; {args.rounds} rounds "
        f"x {args.reads} reads; s3cse from {EncryptionClient.__module__.split('.')[0]} at "
        f"{sys.modules['s3cse'].__file__}"
    )
    print(
        "| reader | median ms | x plain | client CPU ms per read | S3 requests per read "
        "| KMS calls per read |"
    )
    print("|---|---|---|---|---|---|")
    for name in names:
        latency = statistics.median(medians[name])
        counts = readers[name][1]
        per_read = ", ".join(f"{m} {c / total_reads:g}" for m, c in sorted(counts.items()))
        print(
            f"| {name} | {latency * 1000:.2f} | {latency / base:.2f}x | "
            f"{cpu[name] * 1000 / total_reads:.2f} | {per_read} | "
            f"{kms[name] / total_reads:g} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
