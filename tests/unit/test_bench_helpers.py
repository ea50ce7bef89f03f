"""The benchmark's pure helpers: the request counter of its proxy and the report's
readings of raw runs (what turns measurements into verdicts must itself be right)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from s3cse.local.counting import RequestHeads

BENCH = Path(__file__).resolve().parents[2] / "bench"


def bench_module(name: str) -> ModuleType:
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    return importlib.import_module(name)


report = bench_module("report")


def request(method: str, path: str, body: bytes = b"", chunked: bool = False) -> bytes:
    if chunked:
        head = f"{method} {path} HTTP/1.1\r\nHost: s3\r\nTransfer-Encoding: chunked\r\n\r\n"
        half = len(body) // 2
        coded = b"".join(
            b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:half], body[half:]) if part
        )
        return head.encode() + coded + b"0\r\nx-amz-checksum-crc32: AAAAAA==\r\n\r\n"
    head = f"{method} {path} HTTP/1.1\r\nHost: s3\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def test_request_counter_skips_bodies_that_look_like_requests() -> None:
    trap = b"GET /b/k HTTP/1.1\r\n\r\n" * 3
    stream = (
        request("HEAD", "/b/k")
        + request("PUT", "/b/k", trap)
        + request("POST", "/b/k?uploads", trap, chunked=True)
        + request("GET", "/b/k?partNumber=1")
    )
    counter = RequestHeads()
    assert [m for m, _ in counter.feed(stream)] == ["HEAD", "PUT", "POST", "GET"]


@pytest.mark.parametrize("piece", [1, 7, 64])
def test_request_counter_follows_a_stream_cut_anywhere(piece: int) -> None:
    stream = (
        request("PUT", "/b/k", b"x" * 300)
        + request("PUT", "/b/k2", b"GET / HTTP/1.1\r\n\r\n" * 20, chunked=True)
        + request("GET", "/b/k")
    )
    counter = RequestHeads()
    seen: list[tuple[str, str]] = []
    for start in range(0, len(stream), piece):
        seen += counter.feed(stream[start : start + piece])
    assert seen == [("PUT", "/b/k"), ("PUT", "/b/k2"), ("GET", "/b/k")]


def test_request_counter_leaves_out_list_buckets() -> None:
    both = request("GET", "/") + request("GET", "/b/k")
    assert RequestHeads(skip_root=True).feed(both) == [("GET", "/b/k")]
    assert len(RequestHeads().feed(both)) == 2


def test_datastack_rows_read_ratios_and_counts_per_object() -> None:
    document = {
        "workloads": [
            {
                "name": "pandas read_parquet",
                "objects": 2,
                "s3fs": {"seconds": 1.0, "GET": 6, "HEAD": 2},
                "s3cse": {"seconds": 2.0, "GET": 8, "HEAD": 2, "KMS": 4},
            },
            {"name": "polars", "ratio": 0.95, "s3cse": {}},
        ]
    }
    first, second = report.datastack_rows(document)
    assert first["ratio"] == 0.5
    assert (first["s3fs_GET"], first["s3cse_GET"], first["s3cse_KMS"]) == (3, 4, 2)
    assert first["s3fs_KMS"] is None
    assert second["ratio"] == 0.95 and second["s3cse_GET"] is None


def results(runs: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "runs": runs,
        "settings": {"size_mib": 64, "small_objects": 10, "sweep_rounds": 1},
        "client_labels": {"boto3": "plain boto3", "s3cse": "s3cse", "s3cse-aio": "s3cse async"},
        "facts": {},
        **extra,
    }


def test_datastack_targets_judge_each_workload() -> None:
    document = {
        "workloads": [
            {
                "name": "duckdb",
                "objects": 8,
                "s3fs": {"seconds": 1.0, "GET": 24, "HEAD": 8},
                "s3cse": {"seconds": 1.05, "GET": 32, "HEAD": 16, "KMS": 8},
            }
        ]
    }
    rows = report.datastack_targets(results({}, datastack={"json": document}))
    assert [row[2] for row in rows] == ["met", "**missed**", "met"]
    assert "2.00 HEAD, 1.00 KMS per object" in rows[1][1]
    missing = report.datastack_targets(results({}, datastack={"skipped": "no script"}))
    assert missing == [[missing[0][0], "no script", "not measured"]]


def sweep_run(seconds: float, peak: float, correct: bool = True) -> list[dict[str, Any]]:
    return [{"seconds": seconds, "peak_rss_mib": peak, "correct": correct}]


def test_sweep_table_gives_one_row_per_size_and_client() -> None:
    runs: dict[str, Any] = {}
    for client, seconds, peak in (("boto3", 1.0, 100.0), ("s3cse", 2.0, 300.0)):
        for direction in ("upload", "download"):
            for mode in ("file", "pipe"):
                runs[f"1024/{client}/{direction}/{mode}"] = sweep_run(seconds, peak)
    runs["1024/s3cse/download/pipe"] = [{"error": "boom", "peak_rss_mib": 900.0}]
    header, rows = report.sweep_table(results({"sweep": runs}))
    assert header[:3] == ["size", "client", "upload file MB/s (x boto3)"]
    assert [row[:2] for row in rows] == [["1 GiB", "plain boto3"], ["1 GiB", "s3cse"]]
    assert rows[1][2] == "537 (0.50x)"
    assert rows[1][5].startswith("failed: boom")
    assert rows[1][6] == "300"  # the failed run's peak is not counted


def test_memory_targets_name_the_transfers_over_budget_and_the_skipped_sizes() -> None:
    runs = {
        f"1024/s3cse/{d}/{m}": sweep_run(1.0, 300.0 if (d, m) == ("upload", "pipe") else 90.0)
        for d in ("upload", "download")
        for m in ("file", "pipe")
    }
    notes = {"sweep": {"8192": "skipped: 3.0 GiB free"}}
    rows = report.memory_targets(results({"sweep": runs}, notes=notes))
    assert rows[0][1:] == ["max 300 MiB", "**missed** (upload pipe)"]
    assert rows[1][1:] == ["skipped: 3.0 GiB free", "not measured"]


def test_requests_text_and_size_names() -> None:
    runs = {"range_bytes": {"s3cse": [{"requests_per_read": {"HEAD": 1, "GET": 2 / 3}}]}}
    assert report.requests_text(results(runs), "s3cse") == "0.667 GET, 1 HEAD"
    assert report.requests_text(results(runs), "boto3") == "-"
    assert [report.size_name(m) for m in (64, 1024, 8192, 1536)] == [
        "64 MiB",
        "1 GiB",
        "8 GiB",
        "1,536 MiB",
    ]


def test_the_command_shown_keeps_quoted_options_and_drops_output_ones() -> None:
    argv = "--rounds 1 --json /tmp/r.json --datastack-args '--rounds 2' --out=/tmp/o"
    assert report.output_options_removed(argv) == "--rounds 1 --datastack-args '--rounds 2'"
