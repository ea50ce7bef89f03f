"""Whole objects with an integrity index, streamed chunk by chunk as each chunk verifies:
``get_object(IndexedStreaming=True)``, ``download_fileobj``, ``download_file`` to a
FIFO, and the command's ``cat`` / ``cp URL -`` / ``cp URL FIFO``.

Streaming is proven without timing: in an object whose third chunk was altered, the
first two chunks still come out (a read that authenticated the whole object first would
hand out nothing), then the error; and the first chunk is handed out while most of the
object's ciphertext has not been received yet.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from s3cse import AesKeyring, EncryptionClient
from s3cse.core.integrity import CHUNK_SIZE, IndexMismatchError
from s3cse.errors import AuthenticationError

from ..conftest import MakeClient
from ..security.test_destinations import FifoReader, Recorder
from .test_cli import assert_clean_error, run

pytestmark = pytest.mark.integration

SECRET = bytes(range(64, 96))
DATA = os.urandom(4 * CHUNK_SIZE + 100)
PREFIX = DATA[: 2 * CHUNK_SIZE]  # what verifies before the altered third chunk


def put_indexed(s3: Any, bucket: str, key: str, data: bytes = DATA) -> None:
    client = EncryptionClient(AesKeyring(SECRET), s3_client=s3)
    client.put_object(Bucket=bucket, Key=key, Body=data, IntegrityIndex=True)


def flip_chunk(s3: Any, bucket: str, key: str, number: int = 2) -> None:
    """Flip a byte of ciphertext chunk ``number``, keeping the object's metadata."""
    stored = s3.get_object(Bucket=bucket, Key=key)
    body = bytearray(stored["Body"].read())
    body[number * CHUNK_SIZE + 7] ^= 0x01
    s3.put_object(Bucket=bucket, Key=key, Body=bytes(body), Metadata=stored["Metadata"])


def read_pieces(body: Any) -> tuple[list[bytes], BaseException | None]:
    """Every piece ``read1`` hands out, and the error that ended them, if any."""
    pieces: list[bytes] = []
    try:
        while piece := body.read1():
            pieces.append(piece)
    except AuthenticationError as exc:
        return pieces, exc
    return pieces, None


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("streaming-keys") / "aes.key"
    path.write_bytes(SECRET)
    return path


# ---------------------------------------------------------------------- the library


@pytest.mark.parametrize("size", [0, 100, CHUNK_SIZE, 2 * CHUNK_SIZE + 1, len(DATA)])
def test_indexed_get_object_round_trips(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str, size: int
) -> None:
    put_indexed(s3, bucket, key_name, DATA[:size])
    client = make_client(AesKeyring(SECRET))
    response = client.get_object(Bucket=bucket, Key=key_name, IndexedStreaming=True)
    assert response["ContentLength"] == size
    pieces, failure = read_pieces(response["Body"])
    assert failure is None
    assert b"".join(pieces) == DATA[:size]
    assert all(len(piece) <= CHUNK_SIZE for piece in pieces)


def test_first_chunk_is_released_before_the_object_is_received(
    make_client: MakeClient, client_kind: str, s3: Any, bucket: str, key_name: str
) -> None:
    big = os.urandom(16 * CHUNK_SIZE)
    put_indexed(s3, bucket, key_name, big)
    client = make_client(AesKeyring(SECRET))
    body = client.get_object(Bucket=bucket, Key=key_name, IndexedStreaming=True)["Body"]
    first = body.read1()
    assert first and big.startswith(first)
    raw = (body._body if client_kind == "async" else body)._source._source
    assert raw.received < len(big) // 2, raw.received
    assert first + body.read() == big


def test_altered_chunk_ends_the_stream_after_the_verified_prefix(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str
) -> None:
    put_indexed(s3, bucket, key_name)
    flip_chunk(s3, bucket, key_name)
    client = make_client(AesKeyring(SECRET), indexed_streaming=True)
    response = client.get_object(Bucket=bucket, Key=key_name)
    pieces, failure = read_pieces(response["Body"])
    assert isinstance(failure, IndexMismatchError), failure
    assert "chunk 2" in str(failure) and key_name in str(failure)
    assert b"".join(pieces) == PREFIX
    # by default the whole object is authenticated first: nothing comes out
    with pytest.raises(AuthenticationError):
        make_client(AesKeyring(SECRET)).get_object(Bucket=bucket, Key=key_name)


def test_read_of_the_whole_body_fails_whole(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str
) -> None:
    """``read()`` never hands back a verified prefix as if it were the object."""
    put_indexed(s3, bucket, key_name)
    flip_chunk(s3, bucket, key_name)
    client = make_client(AesKeyring(SECRET))
    body = client.get_object(Bucket=bucket, Key=key_name, IndexedStreaming=True)["Body"]
    with pytest.raises(IndexMismatchError):
        body.read()


def test_unindexed_object_is_authenticated_first(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str
) -> None:
    EncryptionClient(AesKeyring(SECRET), s3_client=s3).put_object(
        Bucket=bucket, Key=key_name, Body=DATA
    )
    flip_chunk(s3, bucket, key_name)
    client = make_client(AesKeyring(SECRET))
    with pytest.raises(AuthenticationError):
        client.get_object(Bucket=bucket, Key=key_name, IndexedStreaming=True)


@pytest.mark.parametrize("altered", [False, True], ids=["intact", "altered"])
def test_download_fileobj_writes_verified_chunks(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str, altered: bool
) -> None:
    put_indexed(s3, bucket, key_name)
    if altered:
        flip_chunk(s3, bucket, key_name)
    client = make_client(AesKeyring(SECRET))
    writer = Recorder()
    if altered:
        with pytest.raises(IndexMismatchError):
            client.download_fileobj(bucket, key_name, writer)
        assert bytes(writer.received) == PREFIX
    else:
        assert client.download_fileobj(bucket, key_name, writer) == len(DATA)
        assert bytes(writer.received) == DATA


@pytest.mark.parametrize("altered", [False, True], ids=["intact", "altered"])
def test_download_file_to_a_fifo_streams_verified_chunks(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str, tmp_path: Path, altered: bool
) -> None:
    put_indexed(s3, bucket, key_name)
    if altered:
        flip_chunk(s3, bucket, key_name)
    fifo = FifoReader(tmp_path / "fifo")
    client = make_client(AesKeyring(SECRET))
    if altered:
        with pytest.raises(IndexMismatchError):
            client.download_file(bucket, key_name, str(fifo.path))
    else:
        client.download_file(bucket, key_name, str(fifo.path))
    assert fifo.received() == (PREFIX if altered else DATA)


# ---------------------------------------------------------------------- the command


@pytest.mark.parametrize("command", ["cat", "cp"])
def test_cli_streams_an_indexed_object_to_stdout(
    s3: Any, bucket: str, key_name: str, key_file: Path, command: str
) -> None:
    put_indexed(s3, bucket, key_name)
    args = ["cat", f"s3://{bucket}/{key_name}"]
    if command == "cp":
        args = ["cp", f"s3://{bucket}/{key_name}", "-"]
    result = run(*args, "--aes-key-file", key_file)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == DATA
    flip_chunk(s3, bucket, key_name)
    result = run(*args, "--aes-key-file", key_file)
    assert_clean_error(result, 3, "chunk 2", f"s3://{bucket}/{key_name}")
    assert result.stdout == PREFIX


def test_cli_cp_to_a_fifo_streams_verified_chunks(
    s3: Any, bucket: str, key_name: str, key_file: Path, tmp_path: Path
) -> None:
    put_indexed(s3, bucket, key_name)
    flip_chunk(s3, bucket, key_name)
    fifo = FifoReader(tmp_path / "fifo")
    result = run("cp", f"s3://{bucket}/{key_name}", fifo.path, "--aes-key-file", key_file)
    assert_clean_error(result, 3, "chunk 2")
    assert fifo.received() == PREFIX


def test_cli_cp_to_dev_stdout_streams_verified_chunks(
    s3: Any, bucket: str, key_name: str, key_file: Path
) -> None:
    put_indexed(s3, bucket, key_name)
    result = run("cp", f"s3://{bucket}/{key_name}", "/dev/stdout", "--aes-key-file", key_file)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == DATA
    flip_chunk(s3, bucket, key_name)
    result = run("cp", f"s3://{bucket}/{key_name}", "/dev/stdout", "--aes-key-file", key_file)
    assert_clean_error(result, 3, "chunk 2")
    assert result.stdout == PREFIX


def test_cli_reader_closing_the_pipe_early_ends_quietly(
    s3: Any, bucket: str, key_name: str, key_file: Path
) -> None:
    big = os.urandom(32 * CHUNK_SIZE)
    put_indexed(s3, bucket, key_name, big)
    env = {k: v for k, v in os.environ.items() if k != "S3CSE_DEBUG"}
    command = [sys.executable, "-m", "s3cse.cli", "cat", f"s3://{bucket}/{key_name}"]
    process = subprocess.Popen(
        [*command, "--aes-key-file", str(key_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.read(10) == big[:10]
    process.stdout.close()
    stderr = process.stderr.read()
    process.wait(timeout=60)
    assert stderr == b""
