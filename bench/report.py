"""Turn the benchmark's raw runs into the Markdown tables and the chart."""

from __future__ import annotations

import shlex
import statistics
from pathlib import Path
from typing import Any

MiB = 1024 * 1024
KiB = 1024
RSS_TARGET_MIB = 256
UPLOAD_TARGET = 1.0
DOWNLOAD_TARGET = 1.0
UPLOAD_CPU_TARGET = 1.2
LATENCY_TARGET = 1.5
ONE_TRIP_TARGET = 1.3
SMALL_CACHED_TARGET = 0.9
DATASTACK_TARGET = 0.9
BYTES_TARGET = MiB
CLIENT_ORDER = [
    "boto3",
    "official",
    "aioboto3",
    "s3cse",
    "s3cse-index",
    "s3cse-cache",
    "s3cse-aio",
    "s3cse-aio-cache",
]
SWEEP_MODES = ("file", "pipe")


# ---------------------------------------------------------------------- aggregation


def ok_runs(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in runs if "error" not in r]


def failure(runs: list[dict[str, Any]]) -> str | None:
    failed = [r["error"] for r in runs if "error" in r]
    return failed[0] if failed else None


def median_of(runs: list[dict[str, Any]], name: str) -> float | None:
    values = [r[name] for r in ok_runs(runs) if r.get(name) is not None]
    return statistics.median(values) if values else None


def peak(runs: list[dict[str, Any]]) -> float | None:
    values = [r["peak_rss_mib"] for r in runs if r.get("peak_rss_mib")]
    return max(values) if values else None


def correct(runs: list[dict[str, Any]]) -> bool | None:
    checked = [r["correct"] for r in ok_runs(runs) if "correct" in r]
    return all(checked) if checked else None


def throughput(results: dict[str, Any], workload: str, row: str) -> float | None:
    """MB/s (10^6 bytes per second) of plaintext, median of the rounds."""
    seconds = median_of(results["runs"].get(workload, {}).get(row, []), "seconds")
    size = results["settings"]["size_mib"] * MiB
    return size / seconds / 1e6 if seconds else None


def round_ratios(results: dict[str, Any], workload: str, row: str) -> list[float]:
    """Per round: plain boto3's seconds over this row's (the same round, minutes apart)."""
    runs = results["runs"].get(workload, {})
    ratios = []
    for mine, base in zip(runs.get(row, []), runs.get("boto3", []), strict=False):
        if "error" not in mine and "error" not in base and mine.get("seconds"):
            ratios.append(base["seconds"] / mine["seconds"])
    return ratios


def spread(results: dict[str, Any], workload: str, row: str) -> str:
    """The range of MB/s over the rounds."""
    size = results["settings"]["size_mib"] * MiB
    values = [
        size / r["seconds"] / 1e6
        for r in ok_runs(results["runs"].get(workload, {}).get(row, []))
        if r.get("seconds")
    ]
    return f"{min(values):,.0f}-{max(values):,.0f}" if len(values) > 1 else "-"


def ratio(value: float | None, base: float | None) -> float | None:
    return value / base if value and base else None


def small_ops(results: dict[str, Any], row: str) -> float | None:
    runs = results["runs"].get("small", {}).get(row, [])
    seconds = median_of(runs, "seconds")
    return 2 * results["settings"]["small_objects"] / seconds if seconds else None


def latency(results: dict[str, Any], row: str) -> float | None:
    return median_of(results["runs"].get("range", {}).get(row, []), "median_seconds")


def tail_bytes(results: dict[str, Any], row: str) -> tuple[float, float] | None:
    runs = ok_runs(results["runs"].get("range_bytes", {}).get(row, []))
    if not runs:
        return None
    return runs[-1]["bytes_in_per_read"], runs[-1]["bytes_out_per_read"]


def requests_text(results: dict[str, Any], row: str) -> str:
    """The HTTP requests per read the counting proxy saw, e.g. "1 GET" or "2 GET, 1 HEAD"."""
    runs = ok_runs(results["runs"].get("range_bytes", {}).get(row, []))
    counts = runs[-1].get("requests_per_read") if runs else None
    if not counts:
        return "-"
    return ", ".join(f"{n:.3g} {method}" for method, n in sorted(counts.items()))


def kms_latency(results: dict[str, Any]) -> str:
    """The median bare KMS call, as a sentence for the notes."""
    runs = results["runs"].get("kms", {}).get("boto3", [])
    generate = median_of(runs, "generate_median_seconds")
    decrypt = median_of(runs, "decrypt_median_seconds")
    if generate is None or decrypt is None:
        return ""
    text = (
        f"A bare KMS call from boto3 to the local stack (KMS gate + moto server) takes "
        f"{generate * 1000:.1f} ms (GenerateDataKey) and {decrypt * 1000:.1f} ms "
        "(Decrypt), median"
    )
    direct_generate = median_of(runs, "direct_generate_median_seconds")
    direct_decrypt = median_of(runs, "direct_decrypt_median_seconds")
    if direct_generate is not None and direct_decrypt is not None:
        text += (
            f"; straight to moto, without the gate: {direct_generate * 1000:.1f} ms and "
            f"{direct_decrypt * 1000:.1f} ms"
        )
    return text + "."


def crypto_rates(results: dict[str, Any]) -> dict[str, float]:
    runs = ok_runs(results["runs"].get("crypto", {}).get("s3cse", []))
    size = results["settings"]["size_mib"] * MiB
    rates: dict[str, float] = {}
    for name in (
        "gcm_encrypt",
        "gcm_decrypt",
        "part_encrypt",
        "part_decrypt",
        "threaded_roundtrip",
    ):
        seconds = median_of(runs, f"{name}_seconds")
        if seconds:
            rates[name] = size / seconds / 1e6
    return rates


# ---------------------------------------------------------------------- formatting


def fmt(value: float | None, digits: int = 0, suffix: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}{suffix}"


def times(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def size_text(n: float) -> str:
    if n >= MiB:
        return f"{n / MiB:,.1f} MiB"
    if n >= KiB:
        return f"{n / KiB:,.1f} KiB"
    return f"{n:,.0f} B"


def size_name(mib: int) -> str:
    """An object size given in MiB, as people say it: 64 MiB, 1 GiB, 8 GiB."""
    return f"{mib / 1024:g} GiB" if mib >= 1024 and mib % 1024 == 0 else f"{mib:,} MiB"


def per_object(value: float) -> str:
    return f"{value:.3f}" if 0 < value < 0.1 else f"{value:.2f}"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def api(results: dict[str, Any], workload: str, row: str) -> str:
    for run in ok_runs(results["runs"].get(workload, {}).get(row, [])):
        if run.get("api"):
            return str(run["api"])
    return ""


def label(results: dict[str, Any], row: str) -> str:
    labels = {
        **results["client_labels"],
        "s3cse-index": "s3cse, IntegrityIndex=True",
        "s3cse-cache": "s3cse, caching materials manager",
        "s3cse-aio": "s3cse async client",
        "s3cse-aio-cache": "s3cse async, caching materials manager",
    }
    return str(labels.get(row, row))


def output_options_removed(argv: str) -> str:
    """The command line without the options that only say where results go."""
    words, kept = shlex.split(argv), []
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word in ("--json", "--out", "--from-json"):
            skip = True
        elif not word.startswith(("--json=", "--out=", "--from-json=")):
            kept.append(word)
    return shlex.join(kept)


def header_lines(results: dict[str, Any]) -> list[str]:
    facts, settings = results["facts"], results["settings"]
    v = facts.get("versions", {})
    main = v.get("boto3", {})
    peers = []
    if "official" in v:
        o = v["official"]
        peers.append(
            f"official client {o.get('amazon-s3-encryption-client-python')} "
            f"(boto3 {o.get('boto3')}, cryptography {o.get('cryptography')}, "
            f"Python {o.get('python')})"
        )
    if "aioboto3" in v:
        a = v["aioboto3"]
        peers.append(
            f"aioboto3 {a.get('aioboto3')} (aiobotocore {a.get('aiobotocore')}, "
            f"botocore {a.get('botocore')}, Python {a.get('python')})"
        )
    load = facts.get("loadavg_start"), facts.get("loadavg_end")
    load_text = " -> ".join("/".join(f"{x:.2f}" for x in pair) for pair in load if pair)
    source = facts.get("source") or {}
    changed = source.get("changed") or []
    measured = (
        f"s3cse at commit {source.get('commit')}"
        + (
            f" plus uncommitted changes to {len(changed)} file(s) under src/s3cse"
            if changed
            else ""
        )
        + ", copied at the start of the run"
    )
    argv = output_options_removed(settings.get("argv") or "")
    command = f'make bench BENCH_ARGS="{argv}"' if argv else "make bench"
    return [
        f"Command: `{command}` · date: {facts['date']}",
        "",
        f"- Machine: {facts['nproc']} CPUs ({facts['usable_cpus']} usable, "
        f"{facts.get('physical_cores') or '?'} physical cores; {facts['cpu']}), "
        f"{facts.get('memory_gib')} GiB RAM, {facts['platform']}; shared and noisy "
        f"(load average 1/5/15 min: {load_text}).",
        f"- Python {main.get('python')}; s3cse and plain boto3 {main.get('boto3')} "
        f"(botocore {main.get('botocore')}, s3transfer {main.get('s3transfer')}, "
        f"cryptography {main.get('cryptography')} with {facts.get('cryptography_openssl')}); "
        + "; ".join(peers)
        + ".",
        f"- Measured: {measured}. OpenSSL CLI: {facts.get('openssl') or 'not installed'}.",
        f"- Local stack on 127.0.0.1: SeaweedFS ({facts.get('seaweedfs', '?')}) as S3, "
        f"moto server {main.get('moto')} as KMS behind s3cse's KMS gate; KMS key: one "
        "symmetric key, every client uses its KMS keyring with it.",
        f"- Each (client, workload) runs in its own process; {settings['rounds']} round(s) "
        f"({min(settings.get('small_rounds', 1), settings['rounds'])} for small objects), "
        "client order rotated each round, a new object key per round, and before each large "
        "transfer a `sync` and a wait until the local stack is idle; figures are medians of "
        "the rounds, peak RSS the largest VmHWM of the worker process (interpreter and imports "
        "included). CPU s = the worker's CPU seconds (all threads) during the timed operation: "
        "the stack shares the same CPUs, so client CPU costs throughput. MB/s = 10^6 bytes of "
        "plaintext per second.",
    ]


def verdict(met: bool | None, miss: str = "") -> str:
    """A target's verdict cell: met, missed (by how much), or not measured."""
    if met is None:
        return "not measured"
    return "met" if met else "**missed**" + (f" {miss}" if miss else "")


def per_round_text(values: list[float]) -> str:
    return f" (per round: {', '.join(f'{x:.2f}' for x in values)})" if len(values) > 1 else ""


def cpu_ratio(results: dict[str, Any], workload: str, row: str) -> float | None:
    """This row's client CPU seconds over plain boto3's, medians of the rounds."""
    runs = results["runs"].get(workload, {})
    mine = median_of(runs.get(row, []), "cpu_seconds")
    base = median_of(runs.get("boto3", []), "cpu_seconds")
    return mine / base if mine and base else None


def small_kms_share(results: dict[str, Any], row: str) -> float | None:
    """The share of the small-object time spent waiting for KMS (median of the rounds)."""
    shares = [
        r["kms_seconds"] / r["seconds"]
        for r in ok_runs(results["runs"].get("small", {}).get(row, []))
        if r.get("kms_seconds") is not None and r.get("seconds")
    ]
    return statistics.median(shares) if shares else None


def targets(results: dict[str, Any]) -> list[list[str]]:
    """One row per target of the performance work, each with its measured value."""
    rows = large_targets(results) + range_targets(results) + small_targets(results)
    return datastack_targets(results) + rows + memory_targets(results)


def large_targets(results: dict[str, Any]) -> list[list[str]]:
    size_mib = results["settings"]["size_mib"]
    rows: list[list[str]] = []
    for workload, goal in (("upload", UPLOAD_TARGET), ("download", DOWNLOAD_TARGET)):
        for row in ("s3cse", "s3cse-aio"):
            r = ratio(throughput(results, workload, row), throughput(results, workload, "boto3"))
            if r is None and row != "s3cse":
                continue
            rows.append(
                [
                    f"{label(results, row)} {workload} of {size_mib} MiB >= {goal:.1f}x plain "
                    f"boto3 {workload}_file (same concurrency)",
                    times(r) + per_round_text(round_ratios(results, workload, row)),
                    verdict(
                        None if r is None else r >= goal, f"by {(goal - (r or 0)) * 100:.0f} points"
                    ),
                ]
            )
    cpu = cpu_ratio(results, "upload", "s3cse")
    rows.append(
        [
            f"s3cse upload client CPU <= {UPLOAD_CPU_TARGET}x plain boto3's",
            times(cpu),
            verdict(None if cpu is None else cpu <= UPLOAD_CPU_TARGET),
        ]
    )
    return rows


def range_targets(results: dict[str, Any]) -> list[list[str]]:
    rows: list[list[str]] = []
    base = latency(results, "boto3")
    for row, name in (("s3cse-unauth", "unauthenticated"), ("s3cse-auth", "authenticated")):
        mine = latency(results, row)
        r = ratio(mine, base)
        rows.append(
            [
                f"last 64 KiB of the object, {name}: latency <= {LATENCY_TARGET}x plain "
                "ranged GET (warm key cache)",
                "-" if mine is None else f"{mine * 1000:.1f} ms = {times(r)}",
                verdict(None if r is None else r <= LATENCY_TARGET),
            ]
        )
        moved = tail_bytes(results, row)
        total = sum(moved) if moved else None
        rows.append(
            [
                f"last 64 KiB, {name}: < 1 MiB transferred",
                size_text(total) if total is not None else "-",
                verdict(
                    None if total is None else total < BYTES_TARGET,
                    f"by {size_text((total or 0) - BYTES_TARGET)}",
                ),
            ]
        )
    trip = ratio(latency(results, "s3cse-auth"), latency(results, "s3cse-unauth"))
    rows.append(
        [
            "authenticated range in one round trip (indicator: its latency <= "
            f"{ONE_TRIP_TARGET}x the unauthenticated one's; the order of requests is "
            "proven by tests)",
            times(trip),
            verdict(None if trip is None else trip <= ONE_TRIP_TARGET),
        ]
    )
    for row in ("s3cse-unauth", "s3cse-auth"):
        runs = ok_runs(results["runs"].get("range", {}).get(row, []))
        calls = [r["kms_calls"] for r in runs if "kms_calls" in r]
        if not calls:
            continue
        worst, reads = max(calls), runs[-1].get("reads", 0)
        rows.append(
            [
                f"decrypt-side key cache: {reads} ranged reads of one object ({row}) make "
                "at most 1 KMS Decrypt",
                f"{worst} Decrypt(s)",
                verdict(worst <= 1, f"({worst - 1} repeated)"),
            ]
        )
    return rows


def small_targets(results: dict[str, Any]) -> list[list[str]]:
    rows: list[list[str]] = []
    base = small_ops(results, "boto3")
    for row in ("s3cse-cache", "s3cse-aio-cache"):
        r = ratio(small_ops(results, row), base)
        if r is None and row != "s3cse-cache":
            continue
        rows.append(
            [
                f"small objects, {label(results, row)}: put + get ops/s >= "
                f"{SMALL_CACHED_TARGET}x plain boto3",
                times(r),
                verdict(None if r is None else r >= SMALL_CACHED_TARGET),
            ]
        )
    share = small_kms_share(results, "s3cse")
    rows.append(
        [
            "small objects without the caching materials manager: KMS share of the time (reported)",
            "-" if share is None else f"{share * 100:.0f}%",
            "reported" if share is not None else "not measured",
        ]
    )
    cached = results["runs"].get("small", {}).get("s3cse-cache")
    if cached and ok_runs(cached):
        count = results["settings"]["small_objects"]
        calls = sum(ok_runs(cached)[-1].get("kms", {}).values()) / count / 2
        rows.append(
            [
                "KMS calls per object (put or get) with data-key caching <= 0.01",
                f"{calls:.4f}",
                verdict(calls <= 0.01, f"by {calls - 0.01:.4f}"),
            ]
        )
    return rows


def memory_targets(results: dict[str, Any]) -> list[list[str]]:
    """Peak RSS < 256 MiB at 1 GiB and 8 GiB, uploads and downloads, files and pipes."""
    rows: list[list[str]] = []
    skipped = results.get("notes", {}).get("sweep", {})
    for size_mib in (1024, 8192):
        for client in ("s3cse", "s3cse-aio"):
            peaks = {
                f"{direction} {mode}": sweep_peak(results, size_mib, client, direction, mode)
                for direction in ("upload", "download")
                for mode in SWEEP_MODES
            }
            known = {k: v for k, v in peaks.items() if v is not None}
            if not known and client != "s3cse":
                continue
            worst = max(known.values()) if known else None
            over = [k for k, v in known.items() if v >= RSS_TARGET_MIB]
            measured = "-" if worst is None else f"max {worst:.0f} MiB"
            if str(size_mib) in skipped and not known:
                measured = skipped[str(size_mib)]
            rows.append(
                [
                    f"{label(results, client)} peak RSS < {RSS_TARGET_MIB} MiB, "
                    f"{size_name(size_mib)}: uploads and downloads, files and pipes",
                    measured,
                    verdict(None if worst is None else not over, "(" + ", ".join(over) + ")"),
                ]
            )
    return rows


# ---------------------------------------------------------------------- size sweep


def sweep_runs(
    results: dict[str, Any], size_mib: int, client: str, direction: str, mode: str
) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = (
        results["runs"].get("sweep", {}).get(f"{size_mib}/{client}/{direction}/{mode}", [])
    )
    return runs


def sweep_peak(
    results: dict[str, Any], size_mib: int, client: str, direction: str, mode: str
) -> float | None:
    return peak(ok_runs(sweep_runs(results, size_mib, client, direction, mode)))


def sweep_rate(
    results: dict[str, Any], size_mib: int, client: str, direction: str, mode: str
) -> float | None:
    """MB/s of plaintext, median of the rounds."""
    seconds = median_of(sweep_runs(results, size_mib, client, direction, mode), "seconds")
    return size_mib * MiB / seconds / 1e6 if seconds else None


def sweep_table(results: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the size sweep: one row per size and client, MB/s (and the ratio
    to plain boto3 at the same size and mode) per direction and mode, and the peak RSS."""
    keys = results["runs"].get("sweep", {})
    sizes = sorted({int(k.split("/")[0]) for k in keys})
    clients = [c for c in CLIENT_ORDER if any(k.split("/")[1] == c for k in keys)]
    columns = [(d, m) for d in ("upload", "download") for m in SWEEP_MODES]
    header = ["size", "client"]
    header += [f"{d} {m} MB/s (x boto3)" for d, m in columns] + ["peak RSS MiB", "bytes correct"]
    rows: list[list[str]] = []
    for size_mib in sizes:
        for client in clients:
            cells = [size_name(size_mib), label(results, client)]
            peaks, checks = [], []
            for direction, mode in columns:
                these = sweep_runs(results, size_mib, client, direction, mode)
                rate = sweep_rate(results, size_mib, client, direction, mode)
                base = sweep_rate(results, size_mib, "boto3", direction, mode)
                if these and rate is None:
                    cells.append(f"failed: {(failure(these) or '?')[:60]}")
                    continue
                r = "" if client == "boto3" or rate is None else f" ({times(ratio(rate, base))})"
                cells.append(fmt(rate, 0) + r)
                peaks.append(peak(ok_runs(these)))
                checks.append(correct(these))
            worst = max((p for p in peaks if p is not None), default=None)
            checked = [c for c in checks if c is not None]
            cells += [
                fmt(worst, 0),
                "-" if not checked else "yes" if all(checked) else "**no: wrong bytes**",
            ]
            rows.append(cells)
    return header, rows


def sweep_section(results: dict[str, Any]) -> list[str]:
    settings = results["settings"]
    header, rows = sweep_table(results)
    out = ["## Size sweep: upload and download from and to files and pipes", ""]
    out += table(header, rows) if rows else ["Nothing measured."]
    skipped = results.get("notes", {}).get("sweep", {})
    out += [f"- {size_name(int(size))}: {note}" for size, note in skipped.items()]
    out += [
        "",
        f"{settings.get('sweep_rounds', 1)} round(s), client order rotated each round; MB/s "
        "are medians, peak RSS the largest VmHWM over the four transfers. file: "
        "upload_file / download_file; pipe: upload_fileobj from / download_fileobj to a "
        "FIFO this benchmark feeds from the source file or drains into a SHA-256 (the "
        "client can neither seek nor size it). Each object is deleted after its download.",
        "",
    ]
    return out


# ---------------------------------------------------------------------- data stack


def datastack_rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    """bench/datastack.py's ``--json`` output, one dict per workload with the speed ratio
    (s3fs seconds over s3cse:// seconds: >= 1 is as fast) and the requests per object.

    Expected: ``{"workloads": [{"name", "objects", "s3fs": {"seconds", "GET", "HEAD",
    "KMS"}, "s3cse": {...}}]}``, counts per run of the workload; missing fields are None.
    """
    found = []
    for entry in document.get("workloads", []):
        plain, mine = entry.get("s3fs") or {}, entry.get("s3cse") or {}
        objects = entry.get("objects") or 1
        r = entry.get("ratio")
        if r is None and plain.get("seconds") and mine.get("seconds"):
            r = plain["seconds"] / mine["seconds"]
        row: dict[str, Any] = {"name": entry.get("name", "?"), "objects": objects, "ratio": r}
        for side, counts in (("s3fs", plain), ("s3cse", mine)):
            row[f"{side}_seconds"] = counts.get("seconds")
            for kind in ("GET", "HEAD", "KMS"):
                value = counts.get(kind)
                row[f"{side}_{kind}"] = None if value is None else value / objects
        found.append(row)
    return found


def datastack_targets(results: dict[str, Any]) -> list[list[str]]:
    stack = results.get("datastack") or {}
    rows = datastack_rows(stack.get("json") or {})
    if not rows:
        why = stack.get("skipped") or stack.get("error") or "not run"
        return [[f"data stack: s3cse:// >= {DATASTACK_TARGET}x plain s3fs", why, "not measured"]]
    found: list[list[str]] = []
    for row in rows:
        r = row["ratio"]
        found.append(
            [
                f"data stack, {row['name']}: s3cse:// >= {DATASTACK_TARGET}x plain s3fs",
                times(r),
                verdict(None if r is None else r >= DATASTACK_TARGET),
            ]
        )
        heads, kms = row["s3cse_HEAD"], row["s3cse_KMS"]
        known = heads is not None and kms is not None
        found.append(
            [
                f"data stack, {row['name']}: <= 1 HEAD and <= 1 KMS call per object",
                f"{fmt(heads, 2)} HEAD, {fmt(kms, 2)} KMS per object",
                verdict(known and heads <= 1 and kms <= 1 if known else None),
            ]
        )
        mine, plain = row["s3cse_GET"], row["s3fs_GET"]
        found.append(
            [
                f"data stack, {row['name']}: GETs about as many as s3fs (<= s3fs's + 1 per object)",
                f"{fmt(mine, 2)} against {fmt(plain, 2)} per object",
                verdict(None if mine is None or plain is None else mine <= plain + 1),
            ]
        )
    return found


def datastack_section(results: dict[str, Any]) -> list[str]:
    stack = results.get("datastack") or {}
    if not stack:
        return []
    out = ["## Data stack: Parquet through plain s3fs (s3://) and s3cse://", ""]
    if stack.get("skipped"):
        return [*out, f"Not measured: {stack['skipped']}.", ""]
    if stack.get("command"):
        out += [f"Run by `{stack['command']}` in a process of its own.", ""]
    if stack.get("error"):
        out += [f"It failed: `{stack['error']}`", ""]
    rows = datastack_rows(stack.get("json") or {})
    if rows:
        out += table(
            [
                "workload",
                "s3fs s",
                "s3cse:// s",
                "x s3fs",
                "GET per object (s3fs / s3cse)",
                "HEAD per object (s3fs / s3cse)",
                "KMS per object",
            ],
            [
                [
                    row["name"],
                    fmt(row["s3fs_seconds"], 3),
                    fmt(row["s3cse_seconds"], 3),
                    times(row["ratio"]),
                    f"{fmt(row['s3fs_GET'], 1)} / {fmt(row['s3cse_GET'], 1)}",
                    f"{fmt(row['s3fs_HEAD'], 1)} / {fmt(row['s3cse_HEAD'], 1)}",
                    fmt(row["s3cse_KMS"], 2),
                ]
                for row in rows
            ],
        )
        out += [""]
    elif stack.get("text"):
        out += ["Its report, as printed:", "", "```", stack["text"], "```", ""]
    return out


def large_cells(results: dict[str, Any], workload: str, row: str) -> list[str]:
    these = results["runs"].get(workload, {}).get(row)
    if not these:
        return ["-", "-", "-", "-", "-"]
    mbs = throughput(results, workload, row)
    if mbs is None:
        return [f"failed: {(failure(these) or '?')[:80]}", "-", "-", "-", "-"]
    wrong = " (**wrong bytes**)" if correct(these) is False else ""
    base = throughput(results, workload, "boto3")
    return [
        fmt(mbs, 0) + wrong,
        spread(results, workload, row),
        times(ratio(mbs, base)),
        fmt(median_of(these, "cpu_seconds"), 1),
        fmt(peak(these), 0),
    ]


def markdown(results: dict[str, Any]) -> str:
    settings = results["settings"]
    size_mib = settings["size_mib"]
    runs = results["runs"]
    out = ["# s3cse benchmarks", "", *header_lines(results), ""]

    commit = (results["facts"].get("source") or {}).get("commit") or "?"
    out += ["## Targets", "", f"Measured at commit {commit} (details above).", ""]
    out += [*table(["target", "measured", "verdict"], targets(results)), ""]

    if "upload" in runs or "download" in runs:
        out += [f"## Large object: upload and download of {size_mib} MiB", ""]
        rows, hows = [], []
        for row in CLIENT_ORDER:
            if row not in runs.get("upload", {}) and row not in runs.get("download", {}):
                continue
            cells = [label(results, row)]
            how = []
            for workload in ("upload", "download"):
                cells += large_cells(results, workload, row)
                if api(results, workload, row):
                    how.append(f"{workload}: {api(results, workload, row)}")
            rows.append(cells)
            hows.append(f"- {label(results, row)}: " + "; ".join(how))
        header = [
            "client",
            "upload MB/s",
            "min-max",
            "x boto3",
            "CPU s",
            "peak RSS MiB",
            "download MB/s",
            "min-max",
            "x boto3",
            "CPU s",
            "peak RSS MiB",
        ]
        out += [*table(header, rows), "", "How each client was driven:", "", *hows, ""]

    if "small" in runs:
        count, kib = settings["small_objects"], settings["small_kib"]
        out += [f"## Small objects: {count:,} x {kib} KiB, put then get, one at a time", ""]
        base = small_ops(results, "boto3")
        rows = []
        for row in CLIENT_ORDER:
            these = runs["small"].get(row)
            if not these:
                continue
            bad = failure(these)
            if bad and not ok_runs(these):
                rows.append([label(results, row), f"failed: {bad[:80]}", *["-"] * 5])
                continue
            put = median_of(these, "put_seconds")
            get = median_of(these, "get_seconds")
            kms = ok_runs(these)[-1].get("kms", {})
            calls = sum(kms.values()) / count
            detail = ", ".join(f"{name} {per_object(n / count)}" for name, n in sorted(kms.items()))
            share = small_kms_share(results, row)
            rows.append(
                [
                    label(results, row),
                    fmt(small_ops(results, row), 0),
                    times(ratio(small_ops(results, row), base)),
                    fmt(put and put / count * 1000, 2),
                    fmt(get and get / count * 1000, 2),
                    per_object(calls) + (f" ({detail})" if detail else ""),
                    fmt(share and share * 100, 0, "%"),
                ]
            )
        out += table(
            [
                "client",
                "ops/s (put + get)",
                "x boto3",
                "ms per put",
                "ms per get",
                "KMS calls per object",
                "time in KMS calls",
            ],
            rows,
        )
        out += [
            "",
            "KMS calls are counted at the local stack's KMS gate "
            "(`GET /_s3cse_gate/stats`), reset before each client; the time in them is "
            "measured around each call inside the s3cse workers (botocore's before-call and "
            "after-call events of the keyring's KMS client), as a share of the put + get "
            "time. " + kms_latency(results),
            "",
        ]

    if "range" in runs:
        tail = settings["range_kib"]
        out += [f"## Last {tail} KiB of the {size_mib} MiB object", ""]
        base = latency(results, "boto3")
        rows = []
        for row, text in results["range_labels"].items():
            these = runs["range"].get(row)
            if not these:
                continue
            bad = failure(these)
            moved = tail_bytes(results, row)
            moved_text = f"{size_text(moved[0])} in / {size_text(moved[1])} out" if moved else "-"
            ok = correct(these)
            ok_text = "-" if ok is None else ("yes" if ok else "**no: wrong bytes**")
            value = latency(results, row)
            asked = requests_text(results, row)
            if bad and value is None:
                rows.append(
                    [text, f"failed: {bad[:80]}", "-", "-", "-", moved_text, asked, ok_text]
                )
                continue
            if row == "official":
                shown = f"full download: {fmt(value, 2)} s"
            else:
                shown = fmt(value and value * 1000, 1)
            kms = median_of(these, "kms_median_seconds")
            kms_text = fmt(kms * 1000, 1) if kms else "-"
            calls = max((r["kms_calls"] for r in ok_runs(these) if "kms_calls" in r), default=None)
            rows.append(
                [
                    text,
                    shown,
                    times(ratio(value, base)),
                    kms_text,
                    "-" if calls is None else str(calls),
                    moved_text,
                    asked,
                    ok_text,
                ]
            )
        out += table(
            [
                "client: how",
                "median latency ms",
                "x boto3",
                "of which KMS Decrypt ms",
                "KMS calls, all reads",
                "S3 bytes per read",
                "S3 requests per read",
                "bytes correct",
            ],
            rows,
        )
        out += [
            "",
            f"Latency: median of {settings['reads']} reads after one warm-up read, "
            "straight to S3, median of the rounds; for s3cse it includes any KMS Decrypt "
            "of the data key (default materials manager; the KMS calls column counts them "
            "over the warm-up and timed reads of one round: 1 means the data key was "
            "unwrapped once and reused). Bytes and requests: a "
            "counting TCP proxy (bench/proxy.py, loopback) in front of S3 for a "
            "separate pass, HTTP headers included, both directions per read; it works the "
            "same for every client library (KMS traffic is not included). The official "
            "client refuses `Range`, so its row is one whole-object `get_object` through "
            "the proxy, timed once. " + kms_latency(results),
            "",
        ]

    if "load" in runs:
        out += load_section(results)

    if "sweep" in runs or results.get("notes", {}).get("sweep"):
        out += sweep_section(results)

    out += datastack_section(results)

    if "crypto" in runs:
        rates = crypto_rates(results)
        openssl = results.get("openssl") or {}
        out += [f"## Crypto pipeline in memory: {size_mib} MiB in 1 MiB chunks", ""]
        enc_ref = dec_ref = None
        if "encrypt" in openssl:
            block = max(openssl["encrypt"])
            enc_ref = openssl["encrypt"][block] / 1e6
            dec_ref = openssl["decrypt"][max(openssl["decrypt"])] / 1e6
        rows = [
            [
                "s3cse.core.ciphers GcmEncryptor / GcmDecryptor (one stream, put/get_object)",
                fmt(rates.get("gcm_encrypt")),
                fmt(rates.get("gcm_decrypt")),
                times(ratio(rates.get("gcm_encrypt"), enc_ref)),
                times(ratio(rates.get("gcm_decrypt"), dec_ref)),
            ],
            [
                "s3cse.core.gcm PartEncryptor / PartDecryptor (CTR + GHASH per part, transfers)",
                fmt(rates.get("part_encrypt")),
                fmt(rates.get("part_decrypt")),
                times(ratio(rates.get("part_encrypt"), enc_ref)),
                times(ratio(rates.get("part_decrypt"), dec_ref)),
            ],
        ]
        threads = next((r.get("threads") for r in ok_runs(runs["crypto"].get("s3cse", []))), None)
        if "threaded_roundtrip" in rates:
            rows.append(
                [
                    f"PartEncryptor + PartDecryptor on {threads} threads at once "
                    "(aggregate encrypt+decrypt round trip)",
                    fmt(rates["threaded_roundtrip"]),
                    "(round trip)",
                    "-",
                    "-",
                ]
            )
        if enc_ref:
            rows.append(
                [
                    f"`openssl {openssl['command']}` ({block}-byte blocks)",
                    fmt(enc_ref),
                    fmt(dec_ref),
                    "1.00x",
                    "1.00x",
                ]
            )
        out += table(
            ["path", "encrypt MB/s", "decrypt MB/s", "x openssl (enc)", "x openssl (dec)"], rows
        )
        if "error" in openssl:
            out += ["", f"No OpenSSL reference: {openssl['error']}."]
        else:
            out += [
                "",
                "The `openssl` CLI and the `cryptography` wheel link different "
                "OpenSSL builds (see the versions above), so the ratio also compares "
                "their AES-GCM code paths.",
            ]
        out += [""]
    return "\n".join(out).rstrip() + "\n"


def load_section(results: dict[str, Any]) -> list[str]:
    """The mixed load: throughput of each client, as ops/s and MiB/s and against boto3."""
    settings, runs = results["settings"], results["runs"]["load"]
    seconds, threads = settings["load_seconds"], settings["load_threads"]
    out = [f"## Mixed load: {threads} threads sharing one client, {seconds} s per client", ""]
    base_ops = median_of(runs.get("boto3", []), "ops_per_second")
    base_mib = median_of(runs.get("boto3", []), "mib_per_second")
    rows, hows, mixes = [], [], []
    for row in CLIENT_ORDER:
        these = runs.get(row)
        if not these:
            continue
        good = ok_runs(these)
        if not good:
            rows.append(
                [label(results, row), f"failed: {(failure(these) or '?')[:80]}"] + ["-"] * 8
            )
            continue
        ops = median_of(these, "ops_per_second")
        mib = median_of(these, "mib_per_second")
        count = sum(r["ops"] for r in good)
        kms = sum(sum(r.get("kms", {}).values()) for r in good)
        errors = sum(r["errors"] for r in good)
        ok = correct(these)
        rows.append(
            [
                label(results, row),
                fmt(ops, 1),
                times(ratio(ops, base_ops)),
                fmt(mib, 1),
                times(ratio(mib, base_mib)),
                fmt(median_of(these, "cpu_seconds"), 1),
                per_object(kms / count) if count else "-",
                fmt(peak(these), 0),
                str(errors),
                "-" if ok is None else "yes" if ok else "**no**",
            ]
        )
        if api(results, "load", row):
            hows.append(f"- {label(results, row)}: {api(results, 'load', row)}")
        kinds = good[-1].get("ops_by_kind", {})
        mixes.append(
            f"{label(results, row)}: "
            + ", ".join(
                f"{name} {kinds.get(name, 0):,}"
                for name in ("put", "get", "range", "upload", "download", "overwrite", "delete")
            )
        )
    out += table(
        [
            "client",
            "ops/s",
            "x boto3",
            "MiB/s",
            "x boto3",
            "CPU s",
            "KMS calls per op",
            "peak RSS MiB",
            "errors",
            "reads correct",
        ],
        rows,
    )
    per_round = []
    for row in CLIENT_ORDER:
        pairs = [
            (mine, base)
            for mine, base in zip(runs.get(row, []), runs.get("boto3", []), strict=False)
            if "error" not in mine and "error" not in base
        ]
        if row != "boto3" and len(pairs) > 1:
            per_round.append(
                f"{label(results, row)} "
                + ", ".join(
                    f"{mine['ops_per_second'] / base['ops_per_second']:.2f}" for mine, base in pairs
                )
            )
    if per_round:
        out += [
            "",
            "Operations per second against plain boto3 in each round: "
            + "; ".join(per_round)
            + ".",
        ]
    out += [
        "",
        f"Each client runs the same mix with the same seed: {threads} threads on one "
        "shared client, each with its own keys (and four keys that every thread "
        "overwrites), for a fixed time after writing its keys once, untimed. Weights: "
        "put 20 (1 B-256 KiB), get 25 (whole object, 30% of them of a shared key), "
        "range 25 (up to 128 KiB, unaligned, 20% suffix ranges), upload 3 and download 5 "
        "(5-12 MiB, 5 MiB parts, 3 at a time per transfer), overwrite 12, delete 10. "
        "Every read is checked: whole objects by SHA-256 (for a shared key, against "
        "every version written to it), ranges byte for byte. MiB/s counts plaintext "
        "bytes written and read. CPU s = the worker's CPU seconds over the timed run "
        "(the local stack shares the same CPUs). KMS calls: of the timed operations, "
        "counted at the KMS gate. Reads that find no object (deleted by its own thread, or "
        "a shared key deleted by another) are expected and counted as operations.",
        "",
        "Operations completed (the last round):",
        "",
        *[f"- {m}" for m in mixes],
        "",
        "How each client was driven:",
        "",
        *hows,
        "",
    ]
    return out


# ---------------------------------------------------------------------- chart


def chart(results: dict[str, Any], path: Path) -> Path | None:
    """Throughput and peak-RSS bars per client (plus small objects and tail latency)."""
    try:
        import matplotlib
    except ImportError:
        print("matplotlib is not installed: no chart (pip install -e '.[bench]')")
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = results["runs"]
    settings = results["settings"]
    fig, axes = plt.subplots(4, 2, figsize=(13, 18))
    large = [
        r for r in CLIENT_ORDER if r in runs.get("upload", {}) or r in runs.get("download", {})
    ]
    names = [
        label(results, r)
        .replace(" (no encryption)", "\n(no encryption)")
        .replace(", IntegrityIndex=True", "\n+ index")
        .replace(" Python v4", "\nPython v4")
        for r in large
    ]
    size_mib = settings["size_mib"]
    up = [throughput(results, "upload", r) or 0 for r in large]
    down = [throughput(results, "download", r) or 0 for r in large]
    grouped(
        axes[0][0],
        names,
        [("upload", up), ("download", down)],
        f"{size_mib} MiB object: throughput (MB/s)",
    )
    base = throughput(results, "upload", "boto3")
    if base:
        axes[0][0].axhline(UPLOAD_TARGET * base, color="grey", ls="--", lw=1)
        axes[0][0].text(
            len(large) - 0.55,
            UPLOAD_TARGET * base,
            f"{UPLOAD_TARGET}x boto3 upload",
            fontsize=7,
            ha="right",
            va="bottom",
        )
    rss = [
        ("upload", [peak(runs.get("upload", {}).get(r, [])) or 0 for r in large]),
        ("download", [peak(runs.get("download", {}).get(r, [])) or 0 for r in large]),
    ]
    ax = axes[0][1]
    grouped(ax, names, rss, f"{size_mib} MiB object: peak RSS (MiB, log scale)", log=True)
    if large:
        ax.axhline(RSS_TARGET_MIB, color="grey", ls="--", lw=1)
        ax.text(
            -0.45, RSS_TARGET_MIB * 1.05, f"target < {RSS_TARGET_MIB} MiB", fontsize=7, ha="left"
        )

    small = [r for r in CLIENT_ORDER if r in runs.get("small", {})]
    grouped(
        axes[1][0],
        [
            label(results, r)
            .replace(" (no encryption)", "\n(no encryption)")
            .replace(" Python v4", "\nPython v4")
            .replace(", caching materials manager", "\n+ data-key cache")
            for r in small
        ],
        [("put + get", [small_ops(results, r) or 0 for r in small])],
        f"{settings['small_objects']:,} x {settings['small_kib']} KiB objects: ops/s",
    )

    short = {
        "boto3": "boto3\nranged GET",
        "s3cse-unauth": "s3cse\nunauth. CTR",
        "s3cse-auth": "s3cse\nauthenticated",
        "aioboto3": "aioboto3\nRange\n(wrong bytes)"
        if correct(runs.get("range", {}).get("aioboto3", [])) is False
        else "aioboto3\nRange",
        "official": "official\nfull download",
    }
    tail = [r for r in results["range_labels"] if r in runs.get("range", {})]
    grouped(
        axes[1][1],
        [short.get(r, r) for r in tail],
        [("median latency", [(latency(results, r) or 0) * 1000 for r in tail])],
        f"last {settings['range_kib']} KiB of the object: ms (log scale)",
        log=True,
    )

    sweep_charts(results, axes[2][0], axes[2][1])
    datastack_charts(results, axes[3][0], axes[3][1])

    fig.suptitle(
        f"s3cse benchmarks, {results['facts']['date']}: {results['facts']['nproc']} "
        "CPUs, local SeaweedFS + moto on 127.0.0.1",
        fontsize=11,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.985))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def sweep_charts(results: dict[str, Any], speed: Any, memory: Any) -> None:
    """s3cse's throughput against plain boto3's, and its peak RSS, at each sweep size."""
    keys = results["runs"].get("sweep", {})
    sizes = sorted({int(k.split("/")[0]) for k in keys})
    names = [size_name(s) for s in sizes]
    columns = [(d, m) for d in ("upload", "download") for m in SWEEP_MODES]
    grouped(
        speed,
        names,
        [
            (
                f"{d} {m}",
                [
                    ratio(
                        sweep_rate(results, s, "s3cse", d, m), sweep_rate(results, s, "boto3", d, m)
                    )
                    or 0
                    for s in sizes
                ],
            )
            for d, m in columns
        ],
        "size sweep: s3cse MB/s x plain boto3",
    )
    grouped(
        memory,
        names,
        [
            (f"{d} {m}", [sweep_peak(results, s, "s3cse", d, m) or 0 for s in sizes])
            for d, m in columns
        ],
        "size sweep: s3cse peak RSS (MiB)",
    )
    if sizes:
        memory.axhline(RSS_TARGET_MIB, color="grey", ls="--", lw=1)


def datastack_charts(results: dict[str, Any], speed: Any, requests: Any) -> None:
    """The data-stack workloads: s3cse:// against s3fs, speed and requests per object."""
    rows = datastack_rows((results.get("datastack") or {}).get("json") or {})
    names = [str(r["name"]).replace(", ", "\n") for r in rows]
    grouped(
        speed,
        names,
        [("s3cse:// x s3fs", [r["ratio"] or 0 for r in rows])],
        "data stack: s3cse:// speed x plain s3fs",
    )
    if rows:
        speed.axhline(DATASTACK_TARGET, color="grey", ls="--", lw=1)
    grouped(
        requests,
        names,
        [
            ("s3fs GET", [r["s3fs_GET"] or 0 for r in rows]),
            ("s3cse GET", [r["s3cse_GET"] or 0 for r in rows]),
            ("s3cse HEAD", [r["s3cse_HEAD"] or 0 for r in rows]),
            ("s3cse KMS", [r["s3cse_KMS"] or 0 for r in rows]),
        ],
        "data stack: requests per object",
    )


def grouped(
    ax: Any, names: list[str], series: list[tuple[str, list[float]]], title: str, log: bool = False
) -> None:
    """Bars per name, one colour per series; an empty panel says so."""
    ax.set_title(title, fontsize=10)
    if not names or not any(v for _, values in series for v in values):
        ax.text(0.5, 0.5, "not measured", ha="center", va="center", transform=ax.transAxes)
        ax.set_xticks([])
        ax.set_yticks([])
        return
    width = 0.8 / len(series)
    for i, (name, values) in enumerate(series):
        shifted = [p + (i - (len(series) - 1) / 2) * width for p in range(len(names))]
        drawn = ax.bar(shifted, values, width, label=name)
        ax.bar_label(
            drawn,
            labels=[
                f"{v:,.0f}" if v >= 10 else f"{v:.1f}" if v >= 2 else f"{v:.2f}" if v else ""
                for v in values
            ],
            fontsize=7,
        )
    ax.set_xticks(list(range(len(names))), names, fontsize=8)
    if log:
        ax.set_yscale("log")
    if len(series) > 1:
        ax.legend(fontsize=8)
