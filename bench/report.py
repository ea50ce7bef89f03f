"""Turn the benchmark's raw runs into the Markdown tables and the chart."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

MiB = 1024 * 1024
KiB = 1024
RSS_TARGET_MIB = 256
THROUGHPUT_TARGET = 0.9
LATENCY_TARGET = 2.0
BYTES_TARGET = MiB
CLIENT_ORDER = ["boto3", "official", "aioboto3", "s3cse", "s3cse-index", "s3cse-cache"]


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
    }
    return labels.get(row, row)


def output_options_removed(argv: str) -> str:
    """The command line without the options that only say where results go."""
    words, kept = argv.split(), []
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word in ("--json", "--out", "--from-json"):
            skip = True
        elif not word.startswith(("--json=", "--out=", "--from-json=")):
            kept.append(word)
    return " ".join(kept)


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


def targets(results: dict[str, Any]) -> list[list[str]]:
    size_mib = results["settings"]["size_mib"]
    at = "" if size_mib == 1024 else f" (measured at {size_mib} MiB)"
    rows: list[list[str]] = []

    def verdict(met: bool | None, miss: str) -> str:
        if met is None:
            return "not measured"
        return "met" if met else f"**missed** {miss}"

    for workload in ("upload", "download"):
        r = ratio(throughput(results, workload, "s3cse"), throughput(results, workload, "boto3"))
        per_round = round_ratios(results, workload, "s3cse")
        measured = times(r) + (
            f" (per round: {', '.join(f'{x:.2f}' for x in per_round)})"
            if len(per_round) > 1
            else ""
        )
        rows.append(
            [
                f"s3cse {workload} >= {THROUGHPUT_TARGET}x plain boto3 (both 10 threads, "
                "8 MiB parts)",
                measured,
                verdict(
                    None if r is None else r >= THROUGHPUT_TARGET,
                    f"by {(THROUGHPUT_TARGET - (r or 0)) * 100:.0f} points "
                    f"({(1 - (r or 0) / THROUGHPUT_TARGET) * 100:.0f}% short)",
                ),
            ]
        )
    for workload in ("upload", "download"):
        p = peak(results["runs"].get(workload, {}).get("s3cse", []))
        rows.append(
            [
                f"s3cse peak RSS, {workload} of 1 GiB, default settings < {RSS_TARGET_MIB} MiB{at}",
                fmt(p, 0, " MiB"),
                verdict(
                    None if p is None else p < RSS_TARGET_MIB,
                    f"by {(p or 0) - RSS_TARGET_MIB:.0f} MiB",
                ),
            ]
        )
    base = latency(results, "boto3")
    for row, name in (("s3cse-unauth", "unauthenticated"), ("s3cse-auth", "authenticated")):
        r = ratio(latency(results, row), base)
        mine = latency(results, row)
        rows.append(
            [
                f"last 64 KiB, {name}: latency <= {LATENCY_TARGET:.0f}x plain ranged GET",
                "-" if mine is None else f"{mine * 1000:.1f} ms = {times(r)}",
                verdict(
                    None if r is None else r <= LATENCY_TARGET,
                    f"by {((r or 0) / LATENCY_TARGET - 1) * 100:.0f}%",
                ),
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

    out += ["## Targets", ""]
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
                rows.append([label(results, row), f"failed: {bad[:80]}", "-", "-", "-", "-"])
                continue
            put = median_of(these, "put_seconds")
            get = median_of(these, "get_seconds")
            kms = ok_runs(these)[-1].get("kms", {})
            calls = sum(kms.values()) / count
            detail = ", ".join(f"{name} {per_object(n / count)}" for name, n in sorted(kms.items()))
            rows.append(
                [
                    label(results, row),
                    fmt(small_ops(results, row), 0),
                    times(ratio(small_ops(results, row), base)),
                    fmt(put and put / count * 1000, 2),
                    fmt(get and get / count * 1000, 2),
                    per_object(calls) + (f" ({detail})" if detail else ""),
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
            ],
            rows,
        )
        out += [
            "",
            "KMS calls are counted at the local stack's KMS gate "
            "(`GET /_s3cse_gate/stats`), reset before each client. " + kms_latency(results),
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
            if bad and value is None:
                rows.append([text, f"failed: {bad[:80]}", "-", moved_text, ok_text])
                continue
            if row == "official":
                shown = f"full download: {fmt(value, 2)} s"
            else:
                shown = fmt(value and value * 1000, 1)
            kms = median_of(these, "kms_median_seconds")
            kms_text = fmt(kms * 1000, 1) if kms else "-"
            rows.append([text, shown, times(ratio(value, base)), kms_text, moved_text, ok_text])
        out += table(
            [
                "client: how",
                "median latency ms",
                "x boto3",
                "of which KMS Decrypt ms",
                "S3 bytes per read",
                "bytes correct",
            ],
            rows,
        )
        out += [
            "",
            f"Latency: median of {settings['reads']} reads after one warm-up read, "
            "straight to S3, median of the rounds; for s3cse it includes the KMS Decrypt "
            "of the data key, which every read repeats (these rows use the default "
            "materials manager: no data-key cache). Bytes: a "
            "byte-counting TCP proxy (bench/proxy.py, loopback) in front of S3 for a "
            "separate pass, HTTP headers included, both directions per read; it works the "
            "same for every client library (KMS traffic is not included). The official "
            "client refuses `Range`, so its row is one whole-object `get_object` through "
            "the proxy, timed once. " + kms_latency(results),
            "",
        ]

    if "load" in runs:
        out += load_section(results)

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
    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
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
        axes[0][0].axhline(THROUGHPUT_TARGET * base, color="grey", ls="--", lw=1)
        axes[0][0].text(
            len(large) - 0.55,
            THROUGHPUT_TARGET * base,
            f"{THROUGHPUT_TARGET}x boto3 upload",
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

    fig.suptitle(
        f"s3cse benchmarks, {results['facts']['date']}: {results['facts']['nproc']} "
        "CPUs, local SeaweedFS + moto on 127.0.0.1",
        fontsize=11,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


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
            labels=[f"{v:,.0f}" if v >= 10 else f"{v:,.1f}" if v else "" for v in values],
            fontsize=7,
        )
    ax.set_xticks(list(range(len(names))), names, fontsize=8)
    if log:
        ax.set_yscale("log")
    if len(series) > 1:
        ax.legend(fontsize=8)
