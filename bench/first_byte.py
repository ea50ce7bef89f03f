"""Time to first byte of ``s3cse cp s3://B/K -``: an object with an integrity index
(each 256 KiB chunk written once it verifies) against one without (the whole object
authenticated first, then written), with plain boto3 (no encryption) and the official
client as references, all side by side in one run.

Every reader is a fresh process writing the object to a pipe that this script reads, as
``s3cse cp s3://B/K - | consumer`` would: first byte = from the process's start until
the first byte arrives in the pipe (interpreter start and imports included, alike for
all), total = until the end of the output. Rounds rotate the order of the readers; the
medians are reported, with ratios to the indexed read. The script starts its own local
S3 + KMS on free loopback ports and stops it by PID at the end.

    .venv/bin/python bench/first_byte.py                 # 256 MiB, 3 rounds
    .venv/bin/python bench/first_byte.py --size-mib 1024 --rounds 5
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from s3cse.local import stack as local

BUCKET = "s3cse-first-byte"
MiB = 1024 * 1024
OFFICIAL_PYTHON = os.environ.get(
    "S3CSE_OFFICIAL_PYTHON", str(Path(sys.prefix).parent / ".venv-peers/official/bin/python")
)

# the references, as small programs that write the object to stdout in 1 MiB reads
BOTO3_GET = """
import sys, boto3
body = boto3.client("s3").get_object(Bucket=sys.argv[1], Key=sys.argv[2])["Body"]
while chunk := body.read(1 << 20):
    sys.stdout.buffer.write(chunk)
"""
PUT_RAW = """
import sys, boto3
boto3.client("s3").upload_file(sys.argv[3], sys.argv[1], sys.argv[2])
"""
CREATE_KMS_KEY = """
import boto3
print(boto3.client("kms").create_key()["KeyMetadata"]["KeyId"])
"""
OFFICIAL_CLIENT = """
import sys, boto3
from s3_encryption import S3EncryptionClient, S3EncryptionClientConfig
from s3_encryption.materials.kms_keyring import KmsKeyring
keyring = KmsKeyring(kms_client=boto3.client("kms"), kms_key_id=sys.argv[3])
client = S3EncryptionClient(
    wrapped_s3_client=boto3.client("s3"), config=S3EncryptionClientConfig(keyring=keyring)
)
if sys.argv[4] == "put":
    with open(sys.argv[5], "rb") as source:
        client.put_object(Bucket=sys.argv[1], Key=sys.argv[2], Body=source.read())
else:
    body = client.get_object(Bucket=sys.argv[1], Key=sys.argv[2])["Body"]
    while chunk := body.read(1 << 20):
        sys.stdout.buffer.write(chunk)
"""


@dataclass(frozen=True, eq=False)
class Reader:
    label: str
    command: list[str]
    expect: str
    """SHA-256 of what it must write."""
    size: int


@dataclass(frozen=True)
class Timing:
    first_byte: float
    total: float


def timed_read(reader: Reader, env: dict[str, str]) -> Timing:
    start = time.perf_counter()
    process = subprocess.Popen(reader.command, stdout=subprocess.PIPE, env=env)
    assert process.stdout is not None
    digest = hashlib.sha256()
    first = process.stdout.read(1)
    first_byte = time.perf_counter() - start
    digest.update(first)
    while chunk := process.stdout.read(MiB):
        digest.update(chunk)
    total = time.perf_counter() - start
    if process.wait() != 0 or digest.hexdigest() != reader.expect:
        raise SystemExit(f"{reader.label}: exit {process.returncode} or wrong bytes")
    return Timing(first_byte, total)


def run_quietly(command: list[str], env: dict[str, str]) -> None:
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)


def readers(args: argparse.Namespace, tmp: Path, env: dict[str, str], kms_key: str) -> list[Reader]:
    """Store the objects; return how each is read."""
    source = tmp / "source"
    with open(source, "wb") as out:
        for _ in range(args.size_mib):
            out.write(os.urandom(MiB))
    expect = hashlib.sha256(source.read_bytes()).hexdigest()
    key_file = tmp / "aes.key"
    key_file.write_bytes(os.urandom(32))
    s3cse = [sys.executable, "-m", "s3cse.cli"]
    keys = ["--aes-key-file", str(key_file)]
    for key, extra in (("indexed", ["--integrity-index"]), ("plain", [])):
        run_quietly([*s3cse, "cp", str(source), f"s3://{BUCKET}/{key}", *keys, *extra], env)
    tiny = tmp / "tiny"
    tiny.write_bytes(b"x")
    run_quietly([*s3cse, "cp", str(tiny), f"s3://{BUCKET}/tiny", *keys], env)
    size = args.size_mib * MiB
    run_quietly([sys.executable, "-c", PUT_RAW, BUCKET, "raw", str(source)], env)
    found = [
        Reader(
            "s3cse cp - , integrity index (streamed)",
            [*s3cse, "cp", f"s3://{BUCKET}/indexed", "-", *keys],
            expect,
            size,
        ),
        Reader(
            "s3cse cp - , no index (verified first)",
            [*s3cse, "cp", f"s3://{BUCKET}/plain", "-", *keys],
            expect,
            size,
        ),
        Reader(
            "plain boto3 get_object (no encryption)",
            [sys.executable, "-c", BOTO3_GET, BUCKET, "raw"],
            expect,
            size,
        ),
        Reader(
            "s3cse cp - of a 1-byte object (start-up and one GET)",
            [*s3cse, "cp", f"s3://{BUCKET}/tiny", "-", *keys],
            hashlib.sha256(b"x").hexdigest(),
            1,
        ),
    ]
    if not args.no_official and Path(OFFICIAL_PYTHON).exists():
        official = [OFFICIAL_PYTHON, "-c", OFFICIAL_CLIENT, BUCKET, "official", kms_key]
        run_quietly([*official, "put", str(source)], env)
        found.append(Reader("official S3EC Python v4 get_object", [*official, "get"], expect, size))
    return found


def report(args: argparse.Namespace, results: dict[Reader, list[Timing]]) -> None:
    medians = {
        reader: (
            statistics.median(t.first_byte for t in timings),
            statistics.median(t.total for t in timings),
        )
        for reader, timings in results.items()
    }
    base_first, base_total = next(iter(medians.values()))
    print(f"\n{args.size_mib} MiB object, {args.rounds} round(s), medians\n")
    print("| reader | first byte ms | x indexed | total s | MB/s | x indexed |")
    print("|---|---|---|---|---|---|")
    for reader, (first, total) in medians.items():
        print(
            f"| {reader.label} | {first * 1000:.0f} | {first / base_first:.1f}x | {total:.2f} | "
            f"{reader.size / total / 1e6:.0f} | {total / base_total:.2f}x |"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=256, help="object size (256 MiB)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, order rotated (3)")
    parser.add_argument("--no-official", action="store_true", help="leave the official out")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="s3cse-first-byte-"))
    stack = local.start(tmp / "stack", buckets=(BUCKET,), die_with_parent=True)
    try:
        env = {**os.environ, **stack.env()}
        env.pop("S3CSE_DEBUG", None)
        kms_key = _kms_key(env)
        found = readers(args, tmp, env, kms_key)
        results: dict[Reader, list[Timing]] = {reader: [] for reader in found}
        for round_number in range(args.rounds):
            order = found[round_number % len(found) :] + found[: round_number % len(found)]
            for reader in order:
                timing = timed_read(reader, env)
                results[reader].append(timing)
                print(
                    f"round {round_number + 1}: {reader.label}: first byte "
                    f"{timing.first_byte * 1000:.0f} ms, total {timing.total:.2f} s",
                    flush=True,
                )
        report(args, results)
    finally:
        local.stop(tmp / "stack")
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def _kms_key(env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", CREATE_KMS_KEY], env=env, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


if __name__ == "__main__":
    sys.exit(main())
