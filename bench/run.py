"""`make bench`: s3cse against plain boto3 and the other Python S3 encryption clients.

One command, one run, every competitor side by side on the same machine, so the noise of
a shared machine hits all of them alike; results are ratios to plain boto3 (no
encryption, the ceiling). It starts its own local S3 + KMS (SeaweedFS and moto server
behind s3cse's KMS gate) on free loopback ports and stops it by PID at the end, also on
Ctrl-C. Every (client, workload) runs in its own subprocess, with that client's virtual
environment, so the peak RSS (the worker's VmHWM) is that client's.

Workloads: (a) upload and (b) download of one large object (default 1 GiB), (c) many
small objects put then get, with KMS calls counted at the KMS gate and the share of the
time s3cse spends in KMS calls, (d) the last 64 KiB of the large object (latency
directly; bytes and requests through a counting TCP proxy), (e) the pure crypto pipeline
against ``openssl speed``, (f) a mixed load for a fixed time: threads sharing one client,
small puts, whole and ranged gets, multipart transfers, overwrites and deletes (s3cse
and plain boto3 only), (g) a size sweep: upload and download of 64 MiB to 8 GiB objects
from and to files and pipes (a size the free disk cannot hold is skipped, with a note),
(h) the data stack: bench/datastack.py (plain s3fs against s3cse:// on Parquet files, run
in a process of its own; a note if the script is absent). s3cse's async client
(s3cse-aio) runs beside the sync one in (a), (b), (c) and (g). Rounds rotate the order of
the clients; the median of the rounds is reported, and the largest peak RSS.

    .venv/bin/python bench/run.py                      # the full run (1 GiB)
    .venv/bin/python bench/run.py --size-mib 64 --small-objects 100 --rounds 1 \
        --sweep-sizes 64 --sweep-rounds 1
    .venv/bin/python bench/run.py --workloads load --load-seconds 30 --rounds 1
    .venv/bin/python bench/run.py --workloads sweep --sweep-sizes 1024,8192
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import hashlib
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fifos
import report
from proxy import CountingProxy

from s3cse.local import stack as local

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WORKERS = BENCH / "workers"
BUCKET = "s3cse-bench"
MiB = 1024 * 1024
KiB = 1024


@dataclass(frozen=True)
class Client:
    name: str
    label: str
    python: str | None
    script: str
    missing: str = ""


@dataclass(frozen=True)
class Row:
    """One line of a table: a client, the object it works on, and how."""

    id: str
    client: str
    label: str
    key: str = ""
    variant: str | None = None
    reads: str = ""
    """For a ranged read: the id of the upload row whose object it reads."""


@dataclass
class Bench:
    args: argparse.Namespace
    tmp: Path
    env: dict[str, str]
    stack: local.LocalStack
    kms_key_id: str
    clients: dict[str, Client]
    source: Path = Path()
    source_sha256: str = ""
    tail_sha256: str = ""
    runs: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    stored: dict[str, str] = field(default_factory=dict)
    """The key of each large-object row's latest upload (one new key per round: overwrites
    would leave garbage that SeaweedFS compacts in the background, during the next run)."""
    notes: dict[str, Any] = field(default_factory=dict)
    """What was left out and why (sizes of the sweep the disk cannot hold...)."""
    datastack: dict[str, Any] = field(default_factory=dict)

    def record(self, workload: str, row: str, result: dict[str, Any]) -> None:
        self.runs.setdefault(workload, {}).setdefault(row, []).append(result)


_current: subprocess.Popen[bytes] | None = None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--size-mib", type=int, default=1024, help="size of the large object (default 1024 = 1 GiB)"
    )
    parser.add_argument(
        "--small-objects", type=int, default=1000, help="number of small objects (default 1000)"
    )
    parser.add_argument("--small-kib", type=int, default=4, help="small object size (4 KiB)")
    parser.add_argument(
        "--range-kib", type=int, default=64, help="the tail read from the large object (64 KiB)"
    )
    parser.add_argument(
        "--reads",
        type=int,
        default=20,
        help="timed tail reads per client and round (median reported)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="rounds of every workload, client order rotated (default 5)",
    )
    parser.add_argument(
        "--small-rounds",
        type=int,
        default=1,
        help="rounds of the small-object workload (default 1: it is long, "
        "its 2 x N operations already give a steady figure)",
    )
    parser.add_argument(
        "--clients",
        default="boto3,official,aioboto3,s3cse,s3cse-aio",
        help="comma-separated subset of boto3,official,aioboto3,s3cse,s3cse-aio "
        "(s3cse-aio: s3cse's async client)",
    )
    parser.add_argument(
        "--workloads",
        default="upload,download,small,range,crypto,load,sweep,datastack",
        help="comma-separated subset of upload,download,small,range,crypto,load,sweep,datastack",
    )
    parser.add_argument(
        "--sweep-sizes",
        default="64,256,1024,8192",
        help="object sizes of the size sweep, in MiB (default 64,256,1024,8192); a size "
        "the free disk cannot hold is skipped, with a note in the results",
    )
    parser.add_argument(
        "--sweep-clients",
        default="boto3,s3cse,s3cse-aio",
        help="clients of the size sweep (default boto3,s3cse,s3cse-aio)",
    )
    parser.add_argument(
        "--sweep-rounds",
        type=int,
        default=2,
        help="rounds of the size sweep, client order rotated (default 2)",
    )
    parser.add_argument(
        "--datastack-args",
        default="",
        help="options passed on to bench/datastack.py (the data-stack workloads: s3fs "
        "against s3cse://), e.g. '--rounds 3'",
    )
    parser.add_argument(
        "--load-seconds",
        type=int,
        default=60,
        help="how long the mixed load runs, per client (default 60)",
    )
    parser.add_argument(
        "--load-threads",
        type=int,
        default=8,
        help="threads sharing one client in the mixed load (default 8)",
    )
    parser.add_argument(
        "--load-rounds", type=int, default=1, help="rounds of the mixed load (default 1)"
    )
    parser.add_argument(
        "--openssl-seconds",
        type=int,
        default=3,
        help="seconds per block size for `openssl speed` (default 3)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=BENCH,
        help="where results.md and results.png go (default bench/)",
    )
    parser.add_argument("--json", type=Path, help="also write the raw measurements here")
    parser.add_argument(
        "--from-json",
        type=Path,
        metavar="JSON",
        help="measure nothing: redo results.md and the chart from a file written by --json",
    )
    parser.add_argument("--tmp-dir", help="parent of the temporary directory (default: $TMPDIR)")
    return parser.parse_args(argv)


# ---------------------------------------------------------------------- environment


def peer_python(variable: str, venv: str) -> str:
    return os.environ.get(variable) or str(ROOT / ".venv-peers" / venv / "bin" / "python")


def known_clients() -> dict[str, Client]:
    official = peer_python("S3CSE_OFFICIAL_PYTHON", "official")
    aioboto3 = peer_python("S3CSE_AIOBOTO3_PYTHON", "aioboto3")
    clients = {
        "boto3": Client("boto3", "plain boto3 (no encryption)", sys.executable, "boto3_worker.py"),
        "official": Client("official", "official S3EC Python v4", official, "official_worker.py"),
        "aioboto3": Client("aioboto3", "aioboto3 S3CSE", aioboto3, "aioboto3_worker.py"),
        "s3cse": Client("s3cse", "s3cse", sys.executable, "s3cse_worker.py"),
        "s3cse-aio": Client(
            "s3cse-aio", "s3cse async client", sys.executable, "s3cse_aio_worker.py"
        ),
    }
    for name, client in list(clients.items()):
        if client.python and not Path(client.python).exists():
            clients[name] = Client(
                name,
                client.label,
                None,
                client.script,
                f"no interpreter at {client.python} (run `make peers`)",
            )
    return clients


def versions(python: str, names: list[str]) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json, platform, sys\n"
        "def v(n):\n"
        "    try:\n        return m.version(n)\n"
        "    except m.PackageNotFoundError:\n        return None\n"
        f"print(json.dumps({{'python': platform.python_version(), "
        f"**{{n: v(n) for n in {names!r}}}}}))"
    )
    try:
        out = subprocess.run(
            [python, "-c", code], capture_output=True, text=True, timeout=60, check=True
        ).stdout
        found: dict[str, str] = json.loads(out)
        return found
    except (OSError, subprocess.SubprocessError, ValueError):
        return {}


def machine_facts(clients: dict[str, Client]) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "nproc": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "memory_gib": memory_gib(),
        "physical_cores": physical_cores(),
        "loadavg_start": os.getloadavg(),
    }
    openssl = shutil.which("openssl")
    facts["openssl"] = (
        subprocess.run([openssl, "version"], capture_output=True, text=True).stdout.strip()
        if openssl
        else None
    )
    from cryptography.hazmat.backends.openssl import backend

    facts["cryptography_openssl"] = backend.openssl_version_text()
    weed = Path(sys.executable).parent / "weed"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        facts["seaweedfs"] = subprocess.run(
            [str(weed), "version"], capture_output=True, text=True, timeout=30
        ).stdout.strip()
    packages = {
        "boto3": ["boto3", "botocore", "s3transfer", "cryptography", "moto"],
        "s3cse": ["s3cse"],
        "s3cse-aio": ["s3cse", "aiobotocore"],
        "official": ["amazon-s3-encryption-client-python", "boto3", "botocore", "cryptography"],
        "aioboto3": ["aioboto3", "aiobotocore", "botocore", "cryptography"],
    }
    facts["versions"] = {
        name: versions(client.python, packages[name])
        for name, client in clients.items()
        if client.python
    }
    return facts


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def memory_gib() -> float | None:
    try:
        import psutil
    except ImportError:
        return None
    total: float = psutil.virtual_memory().total
    return round(total / 2**30, 1)


def physical_cores() -> int | None:
    try:
        import psutil
    except ImportError:
        return None
    cores: int | None = psutil.cpu_count(logical=False)
    return cores


def snapshot_source(tmp: Path) -> dict[str, Any]:
    """Copy src/s3cse into the temporary directory and put it first on PYTHONPATH (of the
    stack's KMS gate and of every worker), so that the whole run measures one version even
    if the working tree changes meanwhile. Returns what was measured: commit and changes."""
    target = tmp / "s3cse-src"
    shutil.copytree(
        ROOT / "src" / "s3cse", target / "s3cse", ignore=shutil.ignore_patterns("__pycache__")
    )
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(target) + (os.pathsep + old if old else "")
    check = subprocess.run(
        [
            sys.executable,
            "-c",
            "import s3cse.client, s3cse.transfer, s3cse.local.kms_gate; print(s3cse.__file__)",
        ],
        capture_output=True,
        text=True,
    )
    if check.returncode or not check.stdout.startswith(str(target)):
        raise SystemExit(f"the snapshot of src/s3cse does not import: {check.stderr[-500:]}")

    def git(*args: str) -> str:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            return subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30
            ).stdout.strip()
        return ""

    changed = [
        line[3:] for line in git("status", "--porcelain", "--", "src/s3cse").splitlines() if line
    ]
    return {"commit": git("rev-parse", "--short", "HEAD"), "changed": changed}


def worker_env(stack: local.LocalStack) -> dict[str, str]:
    """Our environment without any AWS settings, plus the local stack's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(stack.env())
    env.update(
        AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull, PYTHONUNBUFFERED="1"
    )
    return env


# ---------------------------------------------------------------------- workers


def run_worker(
    bench: Bench, client: Client, job: dict[str, Any], env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run one worker; its JSON result with its peak RSS (MiB), or an error.

    The peak is the worker's own VmHWM: ``ru_maxrss`` from wait4 would do on most systems,
    but Linux carries the parent's RSS at fork/vfork time over into the child's maxrss.
    """
    global _current
    if client.python is None:
        return {"error": client.missing}
    job = {"bucket": BUCKET, "kms_key_id": bench.kms_key_id, **job}
    with tempfile.TemporaryFile(dir=bench.tmp) as out, tempfile.TemporaryFile(dir=bench.tmp) as err:
        started = time.perf_counter()
        _current = subprocess.Popen(
            [client.python, str(WORKERS / client.script), json.dumps(job)],
            stdout=out,
            stderr=err,
            env=env or bench.env,
            cwd=bench.tmp,
        )
        _, status = os.waitpid(_current.pid, 0)
        _current.returncode = os.waitstatus_to_exitcode(status)
        code, _current = _current.returncode, None
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        lines = out.read().decode(errors="replace").strip().splitlines()
        errors = err.read().decode(errors="replace").strip()
    result: dict[str, Any] = {"worker_wall_seconds": wall}
    try:
        result.update(json.loads(lines[-1]))
        result["peak_rss_mib"] = result.get("vm_hwm_mib")
    except (IndexError, ValueError):
        tail = errors.splitlines()[-1] if errors else f"exit code {code}"
        result["error"] = tail[-300:]
    if code and "error" not in result:
        result["error"] = f"exit code {code}"
    return result


def describe(result: dict[str, Any]) -> str:
    if "error" in result:
        return f"FAILED: {result['error']}"
    bits = [f"{result.get('seconds', 0):.2f} s", f"peak RSS {result['peak_rss_mib']:.0f} MiB"]
    if "decrypt_median_seconds" in result:
        bits.append(
            f"KMS GenerateDataKey {result['generate_median_seconds'] * 1000:.1f} ms, "
            f"Decrypt {result['decrypt_median_seconds'] * 1000:.1f} ms"
        )
    if "direct_decrypt_median_seconds" in result:
        bits.append(
            f"moto direct: {result['direct_generate_median_seconds'] * 1000:.1f} / "
            f"{result['direct_decrypt_median_seconds'] * 1000:.1f} ms"
        )
    if "correct" in result:
        bits.append("correct" if result["correct"] else "WRONG BYTES")
    return ", ".join(bits)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------- set-up


def make_source(path: Path, size: int, tail: int) -> tuple[str, str]:
    """Random (incompressible) content; its SHA-256 and that of its last ``tail`` bytes."""
    digest = hashlib.sha256()
    with path.open("wb") as sink:
        left = size
        while left:
            chunk = os.urandom(min(8 * MiB, left))
            digest.update(chunk)
            sink.write(chunk)
            left -= len(chunk)
    with path.open("rb") as source:
        source.seek(max(size - tail, 0))
        tail_digest = hashlib.sha256(source.read()).hexdigest()
    return digest.hexdigest(), tail_digest


def check_disk(parent: Path, size: int, rounds: int, written: int = 0) -> None:
    # the source, one download at a time, and every large object of every round, stored
    # by SeaweedFS until it compacts its volumes (plus ``written`` bytes of other objects);
    # the size sweep checks its own sizes as it comes to them
    needed = size * (2 + len(LARGE_UPLOADS) * rounds) + written + 2 * 1024 * MiB
    free = shutil.disk_usage(parent).free
    if free < needed:
        raise SystemExit(
            f"not enough free disk under {parent}: {free / 2**30:.1f} GiB free, "
            f"{needed / 2**30:.1f} GiB needed (use --tmp-dir or a smaller "
            "--size-mib)"
        )


def create_kms_key(stack: local.LocalStack) -> str:
    import boto3

    env = stack.env()
    kms = boto3.client(
        "kms",
        endpoint_url=stack.kms_endpoint,
        region_name=env["AWS_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    key_id: str = kms.create_key(Description="s3cse bench")["KeyMetadata"]["KeyId"]
    return key_id


def gate(stack: local.LocalStack, method: str, path: str) -> dict[str, Any]:
    request = urllib.request.Request(
        stack.kms_endpoint + path, method=method, data=None if method == "GET" else b""
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        document: dict[str, Any] = json.loads(response.read())
        return document


# ---------------------------------------------------------------------- workloads

LARGE_UPLOADS = [
    Row("boto3", "boto3", "plain boto3", "large/boto3"),
    Row("official", "official", "official", "large/official"),
    Row("aioboto3", "aioboto3", "aioboto3", "large/aioboto3"),
    Row("s3cse", "s3cse", "s3cse", "large/s3cse"),
    Row("s3cse-index", "s3cse", "s3cse, IntegrityIndex=True", "large/s3cse-index", "index"),
    Row("s3cse-aio", "s3cse-aio", "s3cse async client", "large/s3cse-aio"),
]
RANGES = [
    Row("boto3", "boto3", "plain boto3: ranged GET", reads="boto3"),
    Row(
        "s3cse-unauth",
        "s3cse",
        "s3cse: CTR range, unauthenticated_ranges=True, no index",
        variant="unauthenticated",
        reads="s3cse",
    ),
    Row(
        "s3cse-auth",
        "s3cse",
        "s3cse: authenticated range (IntegrityIndex=True object)",
        variant="authenticated",
        reads="s3cse-index",
    ),
    Row("aioboto3", "aioboto3", "aioboto3: get_object(Range=) on its GCM object", reads="aioboto3"),
    Row("official", "official", "official: no ranges, whole object instead", reads="official"),
]


def rotated(rows: list[Row], shift: int) -> list[Row]:
    shift %= len(rows) or 1
    return rows[shift:] + rows[:shift]


def selected(bench: Bench, rows: list[Row]) -> list[Row]:
    wanted = bench.args.clients.split(",")
    return [row for row in rows if row.client in wanted]


def workload_upload(bench: Bench, round_: int) -> None:
    for row in rotated(selected(bench, LARGE_UPLOADS), round_):
        key = f"{row.key}/round-{round_ + 1}"
        job = {"workload": "upload", "file": str(bench.source), "key": key, "variant": row.variant}
        settle(bench)
        result = run_worker(bench, bench.clients[row.client], job)
        if "error" not in result:
            bench.stored[row.id] = key
        bench.record("upload", row.id, result)
        say(f"  upload    {row.id:<12} {describe(result)}")


def workload_download(bench: Bench, round_: int) -> None:
    rows = [r for r in selected(bench, LARGE_UPLOADS) if r.variant is None]
    # The first large download after the uploads is measurably slower whoever runs it
    # (SeaweedFS settling its freshly written volumes): an untimed one takes that hit.
    settle(bench)
    target = bench.tmp / "download-warm-up"
    run_worker(
        bench,
        bench.clients["boto3"],
        {"workload": "download", "file": str(target), "key": "warm-up"},
    )
    target.unlink(missing_ok=True)
    for row in rotated(rows, round_):
        target = bench.tmp / f"download-{row.id}"
        job = {
            "workload": "download",
            "file": str(target),
            "key": bench.stored.get(row.id, row.key),
        }
        settle(bench)
        result = run_worker(bench, bench.clients[row.client], job)
        if "error" not in result:
            result["correct"] = file_sha256(target) == bench.source_sha256
        target.unlink(missing_ok=True)
        bench.record("download", row.id, result)
        say(f"  download  {row.id:<12} {describe(result)}")


def settle(bench: Bench, timeout: float = 30.0) -> None:
    """Before a large transfer: write back dirty pages (the previous client's file,
    SeaweedFS's volumes) and wait until the local stack is idle, so that no client pays
    for the work the one before it left behind."""
    if hasattr(os, "sync"):
        os.sync()
    try:
        import psutil
    except ImportError:
        time.sleep(2)
        return
    processes = []
    for pid in bench.stack.pids.values():
        with contextlib.suppress(psutil.Error):
            processes.append(psutil.Process(pid))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in processes:
            with contextlib.suppress(psutil.Error):
                process.cpu_percent(None)
        time.sleep(0.5)
        busy = 0.0
        for process in processes:
            with contextlib.suppress(psutil.Error):
                busy += process.cpu_percent(None)
        if busy < 5.0:
            return


def file_sha256(path: Path) -> str | None:
    if not path.exists():
        return None
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for chunk in iter(lambda: source.read(8 * MiB), b""):
            digest.update(chunk)
    return digest.hexdigest()


def workload_small(bench: Bench, round_: int) -> None:
    if round_ >= bench.args.small_rounds:
        return
    rows = [
        Row(name, name, name) for name in ("boto3", "official", "aioboto3", "s3cse", "s3cse-aio")
    ]
    rows.append(Row("s3cse-cache", "s3cse", "s3cse, caching materials manager", variant="cache"))
    rows.append(
        Row("s3cse-aio-cache", "s3cse-aio", "s3cse async, caching materials manager", "", "cache")
    )
    for row in rotated(selected(bench, rows), round_):
        gate(bench.stack, "POST", "/_s3cse_gate/reset")
        job = {
            "workload": "small",
            "count": bench.args.small_objects,
            "object_size": bench.args.small_kib * KiB,
            "prefix": f"small/{row.id}",
            "variant": row.variant,
        }
        result = run_worker(bench, bench.clients[row.client], job)
        result["kms"] = gate(bench.stack, "GET", "/_s3cse_gate/stats")["requests"]
        bench.record("small", row.id, result)
        say(f"  small     {row.id:<12} {describe(result)}, KMS {result['kms']}")


LOAD_ROWS = [
    Row("boto3", "boto3", "plain boto3 (no encryption)"),
    Row("s3cse", "s3cse", "s3cse"),
    Row("s3cse-cache", "s3cse", "s3cse, caching materials manager", variant="cache"),
]


def workload_load(bench: Bench, round_: int) -> None:
    """The same mixed load (same seed) for each client in turn, for a fixed time."""
    if round_ >= bench.args.load_rounds:
        return
    for row in rotated(selected(bench, LOAD_ROWS), round_):
        settle(bench)
        gate(bench.stack, "POST", "/_s3cse_gate/reset")
        job = {
            "workload": "load",
            "variant": row.variant,
            "seed": round_ + 1,
            "prefix": f"load/{row.id}/round-{round_ + 1}",
            "seconds": bench.args.load_seconds,
            "threads": bench.args.load_threads,
            "small_max": 256 * KiB,
            "big_min": 5 * MiB,
            "big_max": 12 * MiB,
            "part_size": 5 * MiB,
            "part_concurrency": 3,
        }
        result = run_worker(bench, bench.clients[row.client], job)
        result["kms"] = gate(bench.stack, "GET", "/_s3cse_gate/stats")["requests"]
        bench.record("load", row.id, result)
        detail = (
            f", {result['ops_per_second']:.1f} ops/s, {result['mib_per_second']:.1f} "
            f"MiB/s, {result['errors']} errors"
            if "ops_per_second" in result
            else ""
        )
        say(f"  load      {row.id:<12} {describe(result)}{detail}")


def moto_endpoint(stack: local.LocalStack) -> str | None:
    """moto server's own port (behind the KMS gate), from its command line, if readable."""
    pid = stack.pids.get("moto")
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
        return f"http://127.0.0.1:{int(argv[argv.index('-p') + 1])}"
    except (OSError, ValueError, IndexError):
        return None


def range_job(bench: Bench, row: Row) -> dict[str, Any]:
    return {
        "workload": "range",
        "key": bench.stored.get(row.reads, "not-uploaded"),
        "variant": row.variant,
        "size": bench.args.size_mib * MiB,
        "range_length": bench.args.range_kib * KiB,
        "reads": bench.args.reads,
        "expect_sha256": bench.tail_sha256,
    }


def workload_range(bench: Bench, round_: int) -> None:
    """Latency, straight to S3 (the official client, which must read everything, once)."""
    kms = run_worker(
        bench,
        bench.clients["boto3"],
        {
            "workload": "kms",
            "reads": bench.args.reads,
            "direct_kms_endpoint": moto_endpoint(bench.stack),
        },
    )
    bench.record("kms", "boto3", kms)
    say(f"  kms       bare calls   {describe(kms)}")
    for row in rotated(selected(bench, RANGES), round_):
        if row.client == "official":
            continue  # measured once, in range_bytes
        result = run_worker(bench, bench.clients[row.client], range_job(bench, row))
        bench.record("range", row.id, result)
        extra = (
            f", median {result['median_seconds'] * 1000:.1f} ms"
            if "median_seconds" in result
            else ""
        )
        say(f"  range     {row.id:<12} {describe(result)}{extra}")


def range_bytes(bench: Bench) -> None:
    """Bytes each client moves for the tail read, counted by a TCP proxy in front of S3."""
    proxy = CountingProxy(bench.stack.s3_port).start()
    try:
        env = {**bench.env, "AWS_ENDPOINT_URL_S3": proxy.endpoint}
        for row in selected(bench, RANGES):
            job = range_job(bench, row)
            if row.client != "official":
                job["reads"] = 2
            proxy.reset()
            result = run_worker(bench, bench.clients[row.client], job, env)
            counts = proxy.snapshot()
            reads = result.get("reads") or 1
            result.update(
                bytes_in_per_read=counts.from_upstream / reads,
                bytes_out_per_read=counts.to_upstream / reads,
                connections=counts.connections,
                requests_per_read={m: n / reads for m, n in counts.methods.items()},
            )
            bench.record("range_bytes", row.id, result)
            if row.client == "official":
                bench.record("range", row.id, result)
            say(
                f"  tail bytes {row.id:<12} {describe(result)}, "
                f"{counts.from_upstream / reads / KiB:.1f} KiB in per read"
            )
    finally:
        proxy.stop()


SWEEP_MODES = ("file", "pipe")


def sweep_disk_needed(size: int) -> int:
    """Free disk a sweep size needs: the source, the object stored, one download (or the
    spool of a pipe download), and one more object in case SeaweedFS has not reclaimed
    the previous one yet (each is deleted and its volume vacuumed after its download);
    plus 2 GiB to spare."""
    return size * 4 + 2048 * MiB


def workload_sweep(bench: Bench) -> None:
    """Upload and download throughput and peak RSS at each size of ``--sweep-sizes``, from
    and to files and pipes, the clients side by side, order rotated each round."""
    wanted = bench.args.sweep_clients.split(",")
    clients = [bench.clients[name] for name in wanted if name in bench.clients]
    rows = [Row(c.name, c.name, c.label) for c in clients if c.python]
    for size_mib in (int(v) for v in bench.args.sweep_sizes.split(",") if v):
        size = size_mib * MiB
        free = shutil.disk_usage(bench.tmp).free
        needed = sweep_disk_needed(size)
        if free < needed:
            note = (
                f"skipped: {free / 2**30:.1f} GiB free under {bench.tmp.parent}, "
                f"{needed / 2**30:.1f} GiB needed (use --tmp-dir on a larger disk)"
            )
            bench.notes.setdefault("sweep", {})[str(size_mib)] = note
            say(f"sweep {size_mib} MiB {note}")
            continue
        say(f"sweep {size_mib} MiB: writing the source ({free / 2**30:.1f} GiB free)")
        source = bench.tmp / f"sweep-{size_mib}.bin"
        digest, _ = make_source(source, size, 0)
        for round_ in range(bench.args.sweep_rounds):
            for row in rotated(rows, round_):
                for mode in SWEEP_MODES:
                    key = f"sweep/{size_mib}/{row.id}/{mode}/round-{round_ + 1}"
                    sweep_transfer(bench, row, size_mib, mode, key, source, digest)
                    delete_object(bench, key)
                    vacuum(bench.stack)
        source.unlink()


def sweep_transfer(
    bench: Bench, row: Row, size_mib: int, mode: str, key: str, source: Path, digest: str
) -> None:
    """One client's upload of ``source`` to ``key`` and download of it back, from and to a
    file or a pipe; both recorded under the ``sweep`` workload."""
    client = bench.clients[row.client]
    pipe = mode == "pipe"
    for direction in ("upload", "download"):
        target = bench.tmp / f"sweep-{direction}-{mode}"
        job = {"workload": direction, "key": key, "pipe": pipe, "file": str(target)}
        settle(bench)
        if direction == "upload" and not pipe:
            job["file"] = str(source)
            result = run_worker(bench, client, job)
        elif pipe:
            with fifos.fifo(target, direction == "upload", source) as outcome:
                result = run_worker(bench, client, job)
            if outcome.get("error") and "error" not in result:
                result["error"] = outcome["error"]
            if direction == "download" and "error" not in result:
                result["correct"] = outcome.get("sha256") == digest
        else:
            result = run_worker(bench, client, job)
            if "error" not in result:
                result["correct"] = file_sha256(target) == digest
            target.unlink(missing_ok=True)
        result["size_mib"] = size_mib
        bench.record("sweep", f"{size_mib}/{row.id}/{direction}/{mode}", result)
        say(f"  sweep {size_mib:>5} MiB {direction:<8} {mode:<4} {row.id:<10} {describe(result)}")
        if direction == "upload" and "error" in result:
            return


def delete_object(bench: Bench, key: str) -> None:
    """Delete what a sweep stored (SeaweedFS may reclaim the space during the run)."""
    import boto3

    env = bench.env
    s3 = boto3.client(
        "s3",
        endpoint_url=env["AWS_ENDPOINT_URL_S3"],
        region_name=env["AWS_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    with contextlib.suppress(Exception):
        s3.delete_object(Bucket=BUCKET, Key=key)


def vacuum(stack: local.LocalStack) -> None:
    """Ask SeaweedFS's master to compact its volumes now, so that deleted objects give
    their disk back during the run (by default it waits for 30% garbage and 15 minutes).
    Best effort: its port is read from the process's command line."""
    pid = stack.pids.get("seaweedfs")
    with contextlib.suppress(OSError, ValueError, StopIteration):
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
        port = next(int(a.split("=", 1)[1]) for a in argv if a.startswith("-master.port="))
        url = f"http://127.0.0.1:{port}/vol/vacuum?garbageThreshold=0.0001"
        with urllib.request.urlopen(url, timeout=300):
            pass


def workload_datastack(bench: Bench) -> dict[str, Any]:
    """bench/datastack.py's data-stack workloads (plain s3fs against s3cse://, with
    request and KMS counts), in a process of its own with its own local stack.

    It is asked for ``--json FILE`` (what report.datastack_section reads); a script that
    does not take it is run again without, and its printed report kept as it is. A
    missing script is a note, not a failure."""
    script = BENCH / "datastack.py"
    if not script.exists():
        say("data stack: bench/datastack.py is not there, skipped")
        return {"skipped": "bench/datastack.py is not there: no data-stack figures"}
    out = bench.tmp / "datastack.json"
    extra = shlex.split(bench.args.datastack_args)
    command = [sys.executable, str(script), *extra, "--json", str(out)]
    say(f"data stack: {' '.join(command[1:])}")
    code, stdout, stderr = run_script(command, bench.tmp)
    if code == 2 and "--json" in stderr:
        command = command[:-2]
        code, stdout, stderr = run_script(command, bench.tmp)
    found: dict[str, Any] = {"command": shlex.join(["bench/datastack.py", *extra])}
    if code:
        found["error"] = (stderr.strip().splitlines() or [f"exit code {code}"])[-1][-300:]
    if out.exists():
        with contextlib.suppress(ValueError):
            found["json"] = json.loads(out.read_text())
    if "json" not in found:
        found["text"] = stdout.strip()
    return found


def run_script(command: list[str], cwd: Path) -> tuple[int, str, str]:
    """Run a benchmark script to its end (killed with the run on Ctrl-C)."""
    global _current
    with tempfile.TemporaryFile(dir=cwd) as out, tempfile.TemporaryFile(dir=cwd) as err:
        _current = subprocess.Popen(command, stdout=out, stderr=err, cwd=cwd)
        code = _current.wait()
        _current = None
        out.seek(0)
        err.seek(0)
        return code, out.read().decode(errors="replace"), err.read().decode(errors="replace")


def workload_crypto(bench: Bench, round_: int) -> None:
    job = {"size": bench.args.size_mib * MiB, "threads": os.cpu_count() or 1}
    result = run_worker(
        bench, Client("crypto", "s3cse crypto", sys.executable, "crypto_worker.py"), job
    )
    bench.record("crypto", "s3cse", result)
    say(f"  crypto    {describe(result)}")


def openssl_speed(seconds: int) -> dict[str, Any]:
    """`openssl speed -evp aes-256-gcm` (encrypt and -decrypt), bytes/s by block size."""
    openssl = shutil.which("openssl")
    if not openssl:
        return {"error": "openssl is not installed: no reference figure"}
    found: dict[str, Any] = {}
    for mode, extra in (("encrypt", []), ("decrypt", ["-decrypt"])):
        command = [
            openssl,
            "speed",
            "-mr",
            "-elapsed",
            "-seconds",
            str(seconds),
            *extra,
            "-evp",
            "aes-256-gcm",
        ]
        try:
            out = subprocess.run(
                command, capture_output=True, text=True, timeout=600, check=True
            ).stdout
        except (OSError, subprocess.SubprocessError) as exc:
            return {"error": f"`{' '.join(command)}` failed: {exc}"}
        sizes = [line for line in out.splitlines() if line.startswith("+H:")]
        rates = [line for line in out.splitlines() if line.startswith("+F:")]
        if not sizes or not rates:
            return {"error": "could not parse `openssl speed` output"}
        block_sizes = [int(v) for v in sizes[-1].split(":")[1:]]
        values = [float(v) for v in rates[-1].split(":")[3:]]
        found[mode] = dict(zip(block_sizes, values, strict=True))
        found["command"] = " ".join(command[1:]).replace(" -decrypt", "")
    return found


# ---------------------------------------------------------------------- main


@contextlib.contextmanager
def interrupts_as_exceptions() -> Iterator[None]:
    """SIGTERM ends the run as Ctrl-C does: through the clean-up below."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def write_results(results: dict[str, Any], out: Path) -> None:
    markdown = report.markdown(results)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.md").write_text(markdown)
    chart = report.chart(results, out / "results.png")
    print(markdown)
    say(f"wrote {out / 'results.md'}" + (f" and {chart}" if chart else ""))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.from_json:
        write_results(json.loads(args.from_json.read_text()), args.out)
        return 0
    workloads = set(args.workloads.split(","))
    size = args.size_mib * MiB
    parent = Path(args.tmp_dir or tempfile.gettempdir())
    # the mixed load writes up to ~64 MiB/s per client here, overwritten and deleted
    # objects included (SeaweedFS reclaims their space later)
    load_written = (
        args.load_seconds * min(args.load_rounds, args.rounds) * len(LOAD_ROWS) * 64 * MiB
        if "load" in workloads
        else 0
    )
    check_disk(
        parent,
        size if workloads & {"upload", "download", "range"} else 0,
        args.rounds,
        load_written,
    )
    tmp = Path(tempfile.mkdtemp(prefix="s3cse-bench-", dir=parent))
    state = tmp / "stack"
    clients = known_clients()
    for name in args.clients.split(","):
        if name not in clients:
            raise SystemExit(f"unknown client {name!r}")
        if clients[name].missing:
            say(f"skipping {name}: {clients[name].missing}")
    with interrupts_as_exceptions():
        try:
            say(f"machine facts; temporary directory {tmp}")
            facts = machine_facts(clients)
            facts["source"] = snapshot_source(tmp)
            say("starting the local stack (SeaweedFS + moto server + KMS gate)")
            stack = local.start(state, buckets=(BUCKET,), die_with_parent=True)
            bench = Bench(args, tmp, worker_env(stack), stack, create_kms_key(stack), clients)
            if workloads & {"upload", "download", "range"}:
                say(f"writing a {args.size_mib} MiB random source file")
                bench.source = tmp / "source.bin"
                bench.source_sha256, bench.tail_sha256 = make_source(
                    bench.source, size, args.range_kib * KiB
                )
                say("warm-up: one untimed plain upload (SeaweedFS allocates its volumes)")
                warm = run_worker(
                    bench,
                    clients["boto3"],
                    {"workload": "upload", "file": str(bench.source), "key": "warm-up"},
                )
                say(f"  warm-up   {describe(warm)}")
            steps = [
                ("upload", workload_upload),
                ("download", workload_download),
                ("small", workload_small),
                ("range", workload_range),
                ("crypto", workload_crypto),
                ("load", workload_load),
            ]
            for round_ in range(args.rounds):
                say(f"round {round_ + 1} of {args.rounds}")
                for name, step in steps:
                    if name in workloads:
                        step(bench, round_)
            if "range" in workloads:
                say("tail read through the byte-counting proxy")
                range_bytes(bench)
            if "sweep" in workloads:
                workload_sweep(bench)
            if "datastack" in workloads:
                bench.datastack = workload_datastack(bench)
            openssl = openssl_speed(args.openssl_seconds) if "crypto" in workloads else {}
            facts["loadavg_end"] = os.getloadavg()
        except KeyboardInterrupt:
            say("interrupted: stopping the local stack and removing temporary files")
            return 130
        finally:
            if _current is not None and _current.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    _current.kill()
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(_current.pid, 0)
            local.stop(state)
            shutil.rmtree(tmp, ignore_errors=True)
    settings = {
        **vars(args),
        "out": str(args.out),
        "json": str(args.json),
        "argv": shlex.join(sys.argv[1:] if argv is None else argv),
    }
    results = {
        "facts": facts,
        "settings": settings,
        "runs": bench.runs,
        "notes": bench.notes,
        "datastack": bench.datastack,
        "openssl": openssl,
        "labels": {row.id: row.label for row in LARGE_UPLOADS},
        "range_labels": {row.id: row.label for row in RANGES},
        "client_labels": {c.name: c.label for c in clients.values()},
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1, default=str))
    write_results(results, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
