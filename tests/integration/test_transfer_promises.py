"""What the README promises of large transfers, measured on real processes.

A pipe of any length uploads in bounded memory: the peak RSS of a process that uploads
512 MiB from a pipe (the CLI, the sync and the async client) stays under 256 MiB, as it
does for a file. The size is large enough that holding what was sent would show.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from s3cse.transfer import TransferConfig

from ..conftest import MakeClient
from ..keys import aes_key_file, aes_keyring

pytestmark = pytest.mark.integration

MiB = 1024 * 1024
PIPED = 512 * MiB
RSS_LIMIT = 256 * MiB
SECRET = bytes(range(32))

UPLOAD_FROM_STDIN = textwrap.dedent("""
    import asyncio, sys
    from s3cse import AesKeyring, AsyncEncryptionClient, EncryptionClient
    from s3cse.transfer import TransferConfig

    kind, secret, bucket, key = sys.argv[1:]
    keyring = AesKeyring(bytes.fromhex(secret))
    config = TransferConfig(max_concurrency=2)

    async def upload() -> None:
        async with AsyncEncryptionClient.create(keyring) as client:
            await client.upload_fileobj(sys.stdin.buffer, bucket, key, Config=config)

    if kind == "sync":
        EncryptionClient(keyring).upload_fileobj(sys.stdin.buffer, bucket, key, Config=config)
    else:
        asyncio.run(upload())
""")


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return aes_key_file(tmp_path_factory, SECRET)


def peak_rss_of_upload(command: list[str], size: int) -> int:
    """Run ``command`` with ``size`` zero bytes piped into its stdin; its peak RSS in
    bytes, as the kernel's high-water mark of its own memory (``VmHWM``, which starts
    afresh at exec). Not ``wait4``'s ``ru_maxrss``: Linux folds into it the RSS of the
    forked copy of this process before exec, which a long test run makes large."""
    env = {k: v for k, v in os.environ.items() if k != "S3CSE_DEBUG"}
    producer = subprocess.Popen(["head", "-c", str(size), "/dev/zero"], stdout=subprocess.PIPE)
    assert producer.stdout is not None
    with open(os.devnull, "wb") as devnull, tempfile.TemporaryFile() as errors:
        child = subprocess.Popen(
            command, stdin=producer.stdout, stdout=devnull, stderr=errors, env=env
        )
        producer.stdout.close()
        peak, deadline = 0, time.monotonic() + 300
        while child.poll() is None and time.monotonic() < deadline:
            peak = max(peak, _high_water_mark(child.pid))
            time.sleep(0.02)
        if child.poll() is None:
            child.kill()
        producer.wait()
        errors.seek(0)
        stderr = errors.read().decode()
    assert child.wait() == 0, stderr
    return peak


def _high_water_mark(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def assert_stored(s3: Any, bucket: str, key: str, size: int) -> None:
    head = s3.head_object(Bucket=bucket, Key=key)
    assert head["ContentLength"] == size + 16
    assert head["ETag"].endswith(f'-{size // (8 * MiB)}"')  # 8 MiB parts


def test_cli_pipe_upload_memory_is_bounded(
    s3: Any, bucket: str, key_name: str, key_file: Path
) -> None:
    peak = peak_rss_of_upload(
        [
            sys.executable,
            "-m",
            "s3cse.cli",
            "cp",
            "-",
            f"s3://{bucket}/{key_name}",
            "--aes-key-file",
            str(key_file),
        ],
        PIPED,
    )
    assert peak < RSS_LIMIT, f"peak RSS {peak / MiB:.0f} MiB"
    assert_stored(s3, bucket, key_name, PIPED)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_upload_fileobj_from_a_pipe_memory_is_bounded(
    kind: str, s3: Any, bucket: str, key_name: str
) -> None:
    peak = peak_rss_of_upload(
        [sys.executable, "-c", UPLOAD_FROM_STDIN, kind, SECRET.hex(), bucket, key_name], PIPED
    )
    assert peak < RSS_LIMIT, f"peak RSS {peak / MiB:.0f} MiB"
    assert_stored(s3, bucket, key_name, PIPED)


class Trickle(io.RawIOBase):
    """A pipe-like source of unknown length that hands out a few bytes per read."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data, self._step, self._position = data, step, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = min(len(buffer), self._step, len(self._data) - self._position)
        buffer[:count] = self._data[self._position : self._position + count]
        self._position += count
        return count


@pytest.mark.parametrize(
    "size",
    [15 * MiB, 15 * MiB + 1, 12 * MiB - 5],
    ids=["whole-parts", "one-byte-over", "under-threshold-parts"],
)
def test_pipe_cut_into_parts_round_trips(
    make_client: MakeClient, size: int, s3: Any, bucket: str, key_name: str
) -> None:
    """Parts cut from a stream: the first read spans several parts (threshold above
    the part size), and a stream that ends exactly on a part boundary still ends with
    the tag in its last part."""
    client = make_client(aes_keyring(0))
    data = os.urandom(size)
    config = TransferConfig(
        multipart_threshold=11 * MiB, multipart_chunksize=5 * MiB, max_concurrency=2
    )
    client.upload_fileobj(Trickle(data, 300_001), bucket, key_name, Config=config)
    head = s3.head_object(Bucket=bucket, Key=key_name)
    assert head["ContentLength"] == size + 16
    assert head["ETag"].endswith(f'-{-(-size // (5 * MiB))}"')
    assert client.get_object(Bucket=bucket, Key=key_name)["Body"].read() == data
