"""Nothing of an altered object reaches any destination.

Someone who can rewrite an object flips a ciphertext byte or cuts the object short.
AES-GCM only notices at the tag, at the object's end; what matters is where the
plaintext decrypted before then went. Each test downloads an altered object into one
kind of destination (a FIFO read by another process, stdout captured by a parent, a
terminal, a caller's writer) and counts the bytes that arrived there: none. The same
download of the intact object shows the destination does receive what it is sent.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import threading
import tty
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from s3cse import AesKeyring, EncryptionClient
from s3cse.errors import AuthenticationError
from s3cse.transfer import TransferConfig

from ..conftest import MakeClient
from ..integration.test_cli import assert_clean_error, run

pytestmark = pytest.mark.integration

MiB = 1024 * 1024
SECRET = bytes(range(32, 64))
PARTS = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
SIZES = {"small": 300 * 1024, "large": 12 * MiB}  # one streamed GET / parallel ranges
CHANGES = ("intact", "flipped", "truncated")


@dataclass(frozen=True)
class Stored:
    key: str
    plaintext: bytes
    change: str

    @property
    def altered(self) -> bool:
        return self.change != "intact"


def alter(data: bytes, change: str) -> bytes:
    if change == "flipped":
        out = bytearray(data)
        out[len(data) // 2] ^= 0x01
        return bytes(out)
    if change == "truncated":
        return data[: len(data) // 2]
    return data


@pytest.fixture(scope="module")
def objects(s3: Any, bucket: str) -> dict[tuple[str, str], Stored]:
    """Each size stored once intact, once with a flipped byte, once cut in half."""
    client = EncryptionClient(AesKeyring(SECRET), s3_client=s3)
    made = {}
    for size_name, size in SIZES.items():
        plaintext = os.urandom(size)
        for change in CHANGES:
            key = f"destinations/{size_name}-{change}"
            client.put_object(Bucket=bucket, Key=key, Body=plaintext)
            stored = s3.get_object(Bucket=bucket, Key=key)
            s3.put_object(
                Bucket=bucket,
                Key=key,
                Metadata=stored["Metadata"],
                Body=alter(stored["Body"].read(), change),
            )
            made[size_name, change] = Stored(key, plaintext, change)
    return made


@pytest.fixture(
    params=[(s, c) for s in SIZES for c in CHANGES],
    ids=[f"{s}-{c}" for s in SIZES for c in CHANGES],
)
def stored(request: pytest.FixtureRequest, objects: dict[tuple[str, str], Stored]) -> Stored:
    found: Stored = objects[request.param]
    return found


@pytest.fixture(params=[c for c in CHANGES], ids=list(CHANGES))
def small(request: pytest.FixtureRequest, objects: dict[tuple[str, str], Stored]) -> Stored:
    found: Stored = objects["small", request.param]
    return found


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("destination-keys") / "aes.key"
    path.write_bytes(SECRET)
    return path


def expect_cli(result: Any, obj: Stored, bucket: str, received: bytes) -> None:
    """The intact object arrives whole; an altered one fails with exit code 3 and
    nothing of it arrived."""
    if obj.altered:
        assert_clean_error(result, 3, f"s3://{bucket}/{obj.key}")
        assert received == b"", f"{len(received)} bytes of an altered object were released"
    else:
        assert result.returncode == 0, result.stderr.decode()
        assert received == obj.plaintext


class FifoReader:
    """A FIFO, and another process reading it to its end."""

    def __init__(self, path: Path) -> None:
        os.mkfifo(path)
        self.path = path
        self.copy = path.with_name(path.name + ".received")
        with open(self.copy, "wb") as copy:
            self.process = subprocess.Popen(["cat", str(path)], stdout=copy)

    def received(self) -> bytes:
        """Everything the reader got, once the writer is done (or never came)."""
        with contextlib.suppress(OSError):  # ENXIO: the reader has already finished
            os.close(os.open(self.path, os.O_WRONLY | os.O_NONBLOCK))
        self.process.wait(timeout=60)
        return self.copy.read_bytes()


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[FifoReader]:
    reader = FifoReader(tmp_path / "fifo")
    try:
        yield reader
    finally:
        if reader.process.poll() is None:
            reader.process.kill()
            reader.process.wait()


class Terminal:
    """A pseudo-terminal in raw mode: its slave is the character device written to, and
    a thread drains the master side so that a writer never blocks."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        self._received = bytearray()
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: every slave descriptor is closed
                return
            if not chunk:
                return
            self._received += chunk

    def received(self) -> bytes:
        os.close(self.slave)
        self._thread.join(timeout=30)
        os.close(self.master)
        return bytes(self._received)


# ---------------------------------------------------------------------- the command


def test_cli_cp_to_a_fifo(stored: Stored, bucket: str, key_file: Path, fifo: FifoReader) -> None:
    result = run("cp", f"s3://{bucket}/{stored.key}", fifo.path, "--aes-key-file", key_file)
    expect_cli(result, stored, bucket, fifo.received())


def test_cli_cp_to_dev_stdout(stored: Stored, bucket: str, key_file: Path) -> None:
    """``/dev/stdout`` of a process whose stdout is a pipe its parent reads."""
    result = run("cp", f"s3://{bucket}/{stored.key}", "/dev/stdout", "--aes-key-file", key_file)
    expect_cli(result, stored, bucket, result.stdout)


@pytest.mark.parametrize("command", ["cp", "cat"])
def test_cli_stdout(command: str, stored: Stored, bucket: str, key_file: Path) -> None:
    """``cp URL -`` and ``cat URL``."""
    url = f"s3://{bucket}/{stored.key}"
    args = ("cp", url, "-") if command == "cp" else ("cat", url)
    result = run(*args, "--aes-key-file", key_file)
    expect_cli(result, stored, bucket, result.stdout)


def test_cli_cp_to_a_terminal(small: Stored, bucket: str, key_file: Path) -> None:
    """A character device: a pseudo-terminal's slave, read through its master."""
    terminal = Terminal()
    result = run("cp", f"s3://{bucket}/{small.key}", terminal.path, "--aes-key-file", key_file)
    expect_cli(result, small, bucket, terminal.received())


def test_cli_cp_to_a_file_behind_dev_stdout(
    small: Stored, bucket: str, key_file: Path, tmp_path: Path
) -> None:
    """A link to ``/proc/self/fd/1`` (what ``/dev/stdout`` is) with stdout redirected to
    a file: the file is filled (after verification), the link is never replaced."""
    link = tmp_path / "stdout"
    link.symlink_to("/proc/self/fd/1")
    captured = tmp_path / "captured"
    with open(captured, "wb") as out:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "s3cse.cli",
                "cp",
                f"s3://{bucket}/{small.key}",
                str(link),
                "--aes-key-file",
                str(key_file),
            ],
            stdout=out,
            stderr=subprocess.PIPE,
            timeout=60,
            check=False,
        )
    assert link.is_symlink() and os.readlink(link) == "/proc/self/fd/1"
    expect_cli(result, small, bucket, captured.read_bytes())


# ---------------------------------------------------------------------- the library


def expect_library(obj: Stored, download: Any) -> None:
    if obj.altered:
        with pytest.raises(AuthenticationError):
            download()
    else:
        download()


def test_download_file_to_a_fifo(
    make_client: MakeClient, stored: Stored, bucket: str, fifo: FifoReader
) -> None:
    client = make_client(AesKeyring(SECRET))
    expect_library(
        stored, lambda: client.download_file(bucket, stored.key, str(fifo.path), Config=PARTS)
    )
    received = fifo.received()
    assert received == (b"" if stored.altered else stored.plaintext)


class Recorder:
    """A writer that is neither seekable nor a real file: it keeps what it is given."""

    def __init__(self) -> None:
        self.received = bytearray()

    def write(self, data: bytes) -> int:
        self.received += data
        return len(data)


class AsyncRecorder(Recorder):
    async def write(self, data: bytes) -> int:  # type: ignore[override]
        return super().write(data)


WRITERS = {"bytesio": io.BytesIO, "recorder": Recorder, "async-recorder": AsyncRecorder}


def received_by(writer: Any) -> bytes:
    if isinstance(writer, io.BytesIO):
        return writer.getvalue()
    return bytes(writer.received)


@pytest.mark.parametrize("writer_kind", list(WRITERS))
def test_download_fileobj_into_a_writer(
    make_client: MakeClient, client_kind: str, writer_kind: str, stored: Stored, bucket: str
) -> None:
    if writer_kind == "async-recorder" and client_kind == "sync":
        pytest.skip("async writers are for the async client")
    client = make_client(AesKeyring(SECRET))
    writer = WRITERS[writer_kind]()
    expect_library(
        stored, lambda: client.download_fileobj(bucket, stored.key, writer, Config=PARTS)
    )
    assert received_by(writer) == (b"" if stored.altered else stored.plaintext)


def test_delayed_authentication_is_the_one_way_to_early_bytes(
    make_client: MakeClient, objects: dict[tuple[str, str], Stored], bucket: str
) -> None:
    """The opt-in still streams: the caller chose to see bytes before the tag."""
    flipped = objects["small", "flipped"]
    client = make_client(AesKeyring(SECRET), delayed_authentication=True)
    writer = Recorder()
    with pytest.raises(AuthenticationError):
        client.download_fileobj(bucket, flipped.key, writer)
    assert 0 < len(writer.received) <= len(flipped.plaintext)


def test_download_file_without_unnamed_files(
    make_client: MakeClient,
    stored: Stored,
    bucket: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where files cannot be created unnamed, a named temporary file stands in: it too
    becomes the destination only once verified, and is removed otherwise."""
    monkeypatch.delattr(os, "O_TMPFILE", raising=False)
    target = tmp_path / "report.bin"
    target.write_bytes(b"the previous report")
    client = make_client(AesKeyring(SECRET))
    expect_library(
        stored, lambda: client.download_file(bucket, stored.key, str(target), Config=PARTS)
    )
    assert [p.name for p in tmp_path.iterdir()] == ["report.bin"]
    assert target.read_bytes() == (b"the previous report" if stored.altered else stored.plaintext)
