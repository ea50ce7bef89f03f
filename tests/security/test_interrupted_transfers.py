"""A transfer stopped half-way leaves none of its unverified plaintext behind.

SIGTERM (what ``kill``, ``timeout``, service managers and container runtimes send) must
clean up as Ctrl-C does: the command exits promptly with 128 + the signal number after
removing its temporary file, or aborting its multipart upload. SIGKILL cannot be
caught, so a download must not have written anything that outlives the process: the
file it fills has no name until the object has verified.

S3 traffic crosses a proxy that slows it down, so each transfer is still under way
when the signal comes; a test sends it only once decrypted bytes are being written.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from s3cse import AesKeyring, EncryptionClient
from s3cse.local import stack as local

from ..faults.conftest import assert_no_uploads
from ..faults.proxy import Fault, FaultProxy
from ..keys import aes_key_file

pytestmark = pytest.mark.integration

MiB = 1024 * 1024
SECRET = bytes(range(64, 96))
# below and above the command's multipart threshold (8 MiB): one GET / parallel ranges
SIZES = {"streamed": 3 * MiB, "parallel": 12 * MiB}
DELAY = 0.008  # seconds per 4 KiB through the proxy: about 500 KB/s per connection
PROMPT = 8.0  # seconds from the signal to the exit, on a loaded machine
# seconds from the signal to the exit of cp --recursive, whose transfers run on worker
# threads: within about a second, with room for a loaded machine (they used to run on
# to their end, 10 s and more through the proxy)
PROMPT_RECURSIVE = 3.0
PREVIOUS = b"the previous report"


@pytest.fixture(scope="module")
def objects(s3: Any, bucket: str) -> dict[str, str]:
    client = EncryptionClient(AesKeyring(SECRET), s3_client=s3)
    keys = {}
    for name, size in SIZES.items():
        keys[name] = f"interrupted/{name}"
        client.put_object(Bucket=bucket, Key=keys[name], Body=os.urandom(size))
    return keys


@pytest.fixture
def slow_s3(stack: local.LocalStack) -> Iterator[FaultProxy]:
    """S3 through a proxy that drips object bodies out and part uploads in."""
    proxy = FaultProxy(stack.s3_port)
    proxy.add(
        Fault("slow", direction="response", when=b"GET /", seconds=DELAY, times=None),
        Fault("slow", direction="request", when=b"PUT /", seconds=DELAY, times=None),
    )
    yield proxy
    proxy.close()


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return aes_key_file(tmp_path_factory, SECRET)


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    """A download directory that already holds the destination, with older content."""
    directory = tmp_path / "out"
    directory.mkdir()
    (directory / "report.bin").write_bytes(PREVIOUS)
    return directory


def start(args: list[Any], proxy: FaultProxy) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "S3CSE_DEBUG"}
    env["AWS_ENDPOINT_URL_S3"] = proxy.url
    return subprocess.Popen(
        [sys.executable, *map(str, args)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def start_cli(proxy: FaultProxy, *args: Any) -> subprocess.Popen[bytes]:
    return start(["-m", "s3cse.cli", *args], proxy)


def files_written(pid: int, directory: Path) -> list[str]:
    """The non-empty files in ``directory`` that process ``pid`` holds open (an unnamed
    one shows as ``directory/#inode (deleted)``)."""
    found = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
            if target.startswith(f"{directory}/") and fd.stat().st_size > 0:
                found.append(target)
        except OSError:  # closed meanwhile
            continue
    return found


def writing_into(pid: int, directory: Path) -> bool:
    return bool(files_written(pid, directory))


def wait_until(process: subprocess.Popen[bytes], ready: Any, what: str) -> None:
    deadline = time.monotonic() + 60
    while not ready():
        if process.poll() is not None:
            _, stderr = process.communicate()
            pytest.fail(f"the transfer ended before {what}: {stderr.decode()}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"no sign of {what} within 60s")
        time.sleep(0.05)


def stop(process: subprocess.Popen[bytes], signum: int, within: float = PROMPT) -> tuple[int, str]:
    """Send ``signum``; the exit code and stderr, which must come within ``within``."""
    sent = time.monotonic()
    process.send_signal(signum)
    try:
        _, stderr = process.communicate(timeout=within)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail(f"still running {within}s after signal {signum}")
    assert time.monotonic() - sent < within
    return process.returncode, stderr.decode()


def assert_untouched(directory: Path) -> None:
    """Only what was there before: no temporary file, the old destination intact."""
    assert sorted(p.name for p in directory.iterdir()) == ["report.bin"]
    assert (directory / "report.bin").read_bytes() == PREVIOUS


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
@pytest.mark.parametrize("size", list(SIZES))
def test_cli_download_stopped_by_a_signal_cleans_up(
    signum: int,
    size: str,
    objects: dict[str, str],
    bucket: str,
    key_file: Path,
    slow_s3: FaultProxy,
    out_dir: Path,
) -> None:
    cli = start_cli(
        slow_s3,
        "cp",
        f"s3://{bucket}/{objects[size]}",
        out_dir / "report.bin",
        "--aes-key-file",
        key_file,
    )
    wait_until(cli, lambda: writing_into(cli.pid, out_dir), "decrypted bytes were written")
    code, stderr = stop(cli, signum)
    assert code == 128 + signum, stderr
    assert "Traceback" not in stderr
    assert stderr.strip() == (
        "s3cse: terminated" if signum == signal.SIGTERM else "s3cse: interrupted"
    )
    assert_untouched(out_dir)


WITHOUT_UNNAMED_FILES = textwrap.dedent("""
    import os, sys
    del os.O_TMPFILE  # as on a system or filesystem without unnamed files
    from s3cse.cli import main
    sys.argv[0] = "s3cse"
    main()
""")


def test_cli_download_terminated_removes_its_named_temp_file(
    objects: dict[str, str], bucket: str, key_file: Path, slow_s3: FaultProxy, out_dir: Path
) -> None:
    """The fallback where a file cannot be created unnamed: a named temporary file,
    removed on SIGTERM as on any failure."""
    cli = start(
        [
            "-c",
            WITHOUT_UNNAMED_FILES,
            "cp",
            f"s3://{bucket}/{objects['parallel']}",
            out_dir / "report.bin",
            "--aes-key-file",
            key_file,
        ],
        slow_s3,
    )
    wait_until(cli, lambda: writing_into(cli.pid, out_dir), "decrypted bytes were written")
    assert any(name.endswith(".s3cse-part") for name in files_written(cli.pid, out_dir))
    code, stderr = stop(cli, signal.SIGTERM)
    assert code == 128 + signal.SIGTERM, stderr
    assert_untouched(out_dir)


@pytest.mark.parametrize("size", list(SIZES))
def test_cli_download_killed_leaves_nothing(
    size: str,
    objects: dict[str, str],
    bucket: str,
    key_file: Path,
    slow_s3: FaultProxy,
    out_dir: Path,
) -> None:
    cli = start_cli(
        slow_s3,
        "cp",
        f"s3://{bucket}/{objects[size]}",
        out_dir / "report.bin",
        "--aes-key-file",
        key_file,
    )
    wait_until(cli, lambda: writing_into(cli.pid, out_dir), "decrypted bytes were written")
    cli.kill()
    cli.communicate(timeout=30)
    assert_untouched(out_dir)


DOWNLOAD_FILE = textwrap.dedent("""
    import asyncio, sys
    from s3cse import AesKeyring, AsyncEncryptionClient, EncryptionClient
    from s3cse.transfer import TransferConfig

    kind, secret, bucket, key, target = sys.argv[1:]
    keyring = AesKeyring(bytes.fromhex(secret))
    config = TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20)

    async def download() -> None:
        async with AsyncEncryptionClient.create(keyring) as client:
            await client.download_file(bucket, key, target, Config=config)

    if kind == "sync":
        EncryptionClient(keyring).download_file(bucket, key, target, Config=config)
    else:
        asyncio.run(download())
""")


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize("size", list(SIZES))
def test_download_file_killed_leaves_nothing(
    kind: str, size: str, objects: dict[str, str], bucket: str, slow_s3: FaultProxy, out_dir: Path
) -> None:
    child = start(
        ["-c", DOWNLOAD_FILE, kind, SECRET.hex(), bucket, objects[size], out_dir / "report.bin"],
        slow_s3,
    )
    wait_until(child, lambda: writing_into(child.pid, out_dir), "decrypted bytes were written")
    child.kill()
    child.communicate(timeout=30)
    assert_untouched(out_dir)


def has_open_upload(s3: Any, bucket: str, key: str) -> bool:
    listing = s3.list_multipart_uploads(Bucket=bucket, Prefix=key)
    return any(u["Key"] == key for u in listing.get("Uploads", []))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_cli_upload_stopped_by_a_signal_aborts_it(
    signum: int,
    s3: Any,
    bucket: str,
    key_name: str,
    key_file: Path,
    slow_s3: FaultProxy,
    tmp_path: Path,
) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(SIZES["parallel"]))
    cli = start_cli(slow_s3, "cp", source, f"s3://{bucket}/{key_name}", "--aes-key-file", key_file)
    wait_until(
        cli,
        lambda: has_open_upload(s3, bucket, key_name) and slow_s3.bytes_sent["request"] > MiB,
        "parts were being sent",
    )
    code, stderr = stop(cli, signum)
    assert code == 128 + signum, stderr
    assert "Traceback" not in stderr
    assert_no_uploads(s3, bucket, key_name)
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key=key_name)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_cli_recursive_upload_stopped_by_a_signal_aborts_it_at_once(
    signum: int,
    s3: Any,
    bucket: str,
    key_name: str,
    key_file: Path,
    slow_s3: FaultProxy,
    tmp_path: Path,
) -> None:
    """The transfers of ``cp --recursive`` run on worker threads, which the signal does
    not reach: they are stopped too, their multipart uploads aborted."""
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "big.bin").write_bytes(os.urandom(SIZES["parallel"]))
    target = f"{key_name}/big.bin"
    cli = start_cli(
        slow_s3, "cp", "--recursive", tree, f"s3://{bucket}/{key_name}/", "--aes-key-file", key_file
    )
    wait_until(
        cli,
        lambda: has_open_upload(s3, bucket, target) and slow_s3.bytes_sent["request"] > MiB,
        "parts were being sent",
    )
    code, stderr = stop(cli, signum, within=PROMPT_RECURSIVE)
    assert code == 128 + signum, stderr
    assert "Traceback" not in stderr
    assert_no_uploads(s3, bucket, target)
    assert s3.list_objects_v2(Bucket=bucket, Prefix=f"{key_name}/")["KeyCount"] == 0


@pytest.fixture(scope="module")
def tree_object(s3: Any, bucket: str) -> str:
    """A prefix holding one object large enough for parallel ranged GETs."""
    client = EncryptionClient(AesKeyring(SECRET), s3_client=s3)
    client.put_object(
        Bucket=bucket, Key="interrupted-tree/report.bin", Body=os.urandom(SIZES["parallel"])
    )
    return "interrupted-tree/"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_cli_recursive_download_stopped_by_a_signal_cleans_up_at_once(
    signum: int, tree_object: str, bucket: str, key_file: Path, slow_s3: FaultProxy, out_dir: Path
) -> None:
    cli = start_cli(
        slow_s3,
        "cp",
        "--recursive",
        f"s3://{bucket}/{tree_object}",
        out_dir,
        "--aes-key-file",
        key_file,
    )
    wait_until(cli, lambda: writing_into(cli.pid, out_dir), "decrypted bytes were written")
    code, stderr = stop(cli, signum, within=PROMPT_RECURSIVE)
    assert code == 128 + signum, stderr
    assert "Traceback" not in stderr
    assert_untouched(out_dir)
