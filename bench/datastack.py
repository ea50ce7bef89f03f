"""Data tools on ``s3cse://`` against plain ``s3://`` (s3fs): the same Parquet files read
by PyArrow, pandas, DuckDB and Polars, side by side in one run.

Workloads: a pyarrow.dataset scan of one column over 8 files, pandas ``read_parquet`` of
one ~30 MiB file, a DuckDB filter and group-by over the 8 files, and a Polars read of the
~30 MiB file (through an fsspec file, for both). Each read uses a new filesystem
instance, as a fresh process would, with default options (s3cse://: KMS keys, integrity
index, every byte authenticated). Rounds alternate which side goes first; medians are
reported with the speed ratio (s3fs time / s3cse time: 1.0x is parity, above is faster)
and the requests of one read: GETs and HEADs counted at a proxy in front of S3 in one
untimed read per workload and side (timed reads go straight to S3), KMS Decrypts at the
local KMS gate. The script starts its own local S3 + KMS on free loopback
ports and stops it by PID at the end.

    .venv/bin/python bench/datastack.py                 # 5 rounds
    .venv/bin/python bench/datastack.py --rounds 9
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import duckdb
import fsspec
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from s3cse.local import stack as local
from s3cse.local.counting import RequestCounter
from s3cse.local.kms_gate import RESET_PATH, STATS_PATH

BUCKET = "s3cse-datastack"
FILES = 8


@dataclass
class Side:
    protocol: str
    options: dict[str, Any]
    """Filesystem options of the timed reads: straight to S3."""
    counted_endpoint: str
    """The counting proxy's endpoint, for the one untimed read whose requests are counted
    (the proxy runs on a thread of this process: timed through it, a client doing more of
    its work in Python would also be paying for the proxy's share of the GIL)."""
    seconds: dict[str, list[float]] = field(default_factory=dict)
    requests: dict[str, dict[str, int]] = field(default_factory=dict)

    def filesystem(self) -> Any:
        return fsspec.filesystem(self.protocol, skip_instance_cache=True, **self.options)

    def path(self, name: str) -> str:
        return f"{BUCKET}/{self.protocol}/{name}"


def table(rows: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    columns = {"g": rng.integers(0, 10, rows)}
    columns.update({f"c{i}": rng.random(rows) for i in range(4)})
    return pa.table(columns)


def store(side: Side) -> None:
    fs = side.filesystem()
    for i in range(FILES):
        pq.write_table(table(250_000, i), side.path(f"many/part-{i}.parquet"), filesystem=fs)
    pq.write_table(table(800_000, 99), side.path("one.parquet"), filesystem=fs)


def dataset_scan(side: Side) -> Any:
    found = ds.dataset(side.path("many"), filesystem=side.filesystem(), format="parquet")
    return found.to_table(columns=["c1"]).num_rows


def pandas_read(side: Side) -> Any:
    return len(pd.read_parquet(side.path("one.parquet"), filesystem=side.filesystem()))


def duckdb_query(side: Side) -> Any:
    con = duckdb.connect()
    con.register_filesystem(side.filesystem())
    return con.sql(
        "SELECT g, count(*), round(sum(c1), 3) "
        f"FROM read_parquet('{side.protocol}://{side.path('many/*.parquet')}') "
        "WHERE c2 > 0.5 GROUP BY g ORDER BY g"
    ).fetchall()


def polars_read(side: Side) -> Any:
    with side.filesystem().open(side.path("one.parquet"), "rb") as source:
        return pl.read_parquet(source).height


OBJECTS = {
    "pyarrow.dataset 1 column, 8 files": FILES,
    "pandas read_parquet, 30 MiB": 1,
    "DuckDB filter+group, 8 files": FILES,
    "Polars read_parquet, 30 MiB": 1,
}
"""How many objects each workload reads (requests are also reported per object)."""

WORKLOADS: dict[str, Callable[[Side], Any]] = {
    "pyarrow.dataset 1 column, 8 files": dataset_scan,
    "pandas read_parquet, 30 MiB": pandas_read,
    "DuckDB filter+group, 8 files": duckdb_query,
    "Polars read_parquet, 30 MiB": polars_read,
}


def kms_decrypts(stack: local.LocalStack, reset: bool = False) -> int:
    request = urllib.request.Request(
        stack.kms_endpoint + (RESET_PATH if reset else STATS_PATH),
        data=b"" if reset else None,
        method="POST" if reset else "GET",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(json.loads(response.read())["requests"].get("Decrypt", 0))


def measure(name: str, side: Side, expect: Any) -> None:
    """One timed read, straight to S3."""
    start = time.perf_counter()
    result = WORKLOADS[name](side)
    side.seconds.setdefault(name, []).append(time.perf_counter() - start)
    if result != expect:
        raise SystemExit(f"{side.protocol}: {name} returned {result!r}, not {expect!r}")


def count(
    name: str, side: Side, counter: RequestCounter, stack: local.LocalStack, expect: Any
) -> None:
    """One untimed read through the counting proxy: its GETs, HEADs and KMS Decrypts."""
    counter.reset()
    kms_decrypts(stack, reset=True)
    counted = Side(side.protocol, {**side.options, "endpoint_url": side.counted_endpoint}, "")
    if WORKLOADS[name](counted) != expect:
        raise SystemExit(f"{side.protocol}: {name} read through the proxy differs")
    counts = counter.counts()
    side.requests[name] = {"GET": counts["GET"], "HEAD": counts["HEAD"], "KMS": kms_decrypts(stack)}


def report(args: argparse.Namespace, plain: Side, s3cse: Side) -> None:
    print(f"\n{args.rounds} round(s), medians; requests of one read (GET/HEAD/KMS Decrypt)\n")
    print("| workload | s3fs s | s3cse s | speed s3cse/s3fs | s3fs requests | s3cse requests |")
    print("|---|---|---|---|---|---|")
    for name in WORKLOADS:
        a, b = (statistics.median(side.seconds[name]) for side in (plain, s3cse))
        ra, rb = ("{GET}/{HEAD}/{KMS}".format(**side.requests[name]) for side in (plain, s3cse))
        print(f"| {name} | {a:.3f} | {b:.3f} | {a / b:.2f}x | {ra} | {rb} |")


def document(args: argparse.Namespace, plain: Side, s3cse: Side) -> dict[str, Any]:
    """The measurements as ``bench/report.py`` reads them (``datastack_rows``): medians
    of the rounds, requests of one read of the workload."""

    def measured(side: Side, name: str) -> dict[str, Any]:
        times = side.seconds[name]
        return {"seconds": statistics.median(times), "rounds": times, **side.requests[name]}

    return {
        "rounds": args.rounds,
        "workloads": [
            {
                "name": name,
                "objects": OBJECTS[name],
                "s3fs": measured(plain, name),
                "s3cse": measured(s3cse, name),
            }
            for name in WORKLOADS
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds, order alternated (5)")
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="s3cse-datastack-"))
    stack = local.start(tmp / "stack", buckets=(BUCKET,), die_with_parent=True)
    try:
        env = stack.env()
        os.environ.update(env)  # the KMS client of s3cse:// finds the local KMS here
        kms_key = boto3.client("kms").create_key()["KeyMetadata"]["KeyId"]
        with RequestCounter(stack.s3_port) as counter:
            common = {
                "endpoint_url": stack.s3_endpoint,
                "key": env["AWS_ACCESS_KEY_ID"],
                "secret": env["AWS_SECRET_ACCESS_KEY"],
                "client_kwargs": {"region_name": env["AWS_DEFAULT_REGION"]},
            }
            plain = Side("s3", common, counter.endpoint)
            s3cse = Side("s3cse", {**common, "kms_key_id": kms_key}, counter.endpoint)
            for side in (plain, s3cse):
                store(side)
            expected = {name: run(plain) for name, run in WORKLOADS.items()}
            for name in WORKLOADS:
                for side in (plain, s3cse):
                    count(name, side, counter, stack, expected[name])
            for round_number in range(args.rounds):
                order = (plain, s3cse) if round_number % 2 == 0 else (s3cse, plain)
                for name in WORKLOADS:
                    for side in order:
                        measure(name, side, expected[name])
                print(f"round {round_number + 1} done", flush=True)
            report(args, plain, s3cse)
            if args.json:
                args.json.write_text(json.dumps(document(args, plain, s3cse), indent=2))
    finally:
        local.stop(tmp / "stack")
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
