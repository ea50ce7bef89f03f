"""The s3cse:// fsspec filesystem over real S3: plaintext sizes, hidden sidecars, seekable
authenticated reads, streaming writes, and pickling for worker processes."""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path
from typing import Any

import fsspec
import pytest

from s3cse import EncryptionClient
from s3cse import errors as e
from s3cse.core.integrity import CHUNK_SIZE
from s3cse.fs import S3CSEFileSystem

from ..keys import aes_key, aes_keyring

pytestmark = pytest.mark.integration
MiB = 1024 * 1024


def test_registered_by_entry_point(stack: Any, key_file: str, bucket: str, key_name: str) -> None:
    assert fsspec.get_filesystem_class("s3cse") is S3CSEFileSystem
    url = f"s3cse://{bucket}/{key_name}/hello.txt"
    with fsspec.open(url, "w", aes_key_file=key_file, endpoint_url=stack.s3_endpoint) as f:
        f.write("hello, encrypted world")
    with fsspec.open(url, "r", aes_key_file=key_file, endpoint_url=stack.s3_endpoint) as f:
        assert f.read() == "hello, encrypted world"


def test_listings_report_plaintext_sizes_and_hide_sidecars(
    fs: S3CSEFileSystem, s3: Any, bucket: str, key_name: str
) -> None:
    base = f"{bucket}/{key_name}"
    fs.pipe(f"{base}/a.bin", b"x" * 1000)
    fs.pipe(f"{base}/sub/b.bin", b"y" * 17)
    raw = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=key_name)["Contents"]}
    assert f"{key_name}/a.bin.s3cse-index" in raw  # written, but not shown
    listed = fs.ls(base, detail=True)
    assert {(entry["name"], entry["size"]) for entry in listed if entry["type"] == "file"} == {
        (f"{base}/a.bin", 1000)
    }
    assert fs.info(f"{base}/a.bin")["size"] == 1000
    assert fs.info(f"{base}/a.bin")["s3cse_size"] == "assumed-gcm"
    assert sorted(fs.find(base)) == [f"{base}/a.bin", f"{base}/sub/b.bin"]
    assert fs.du(base) == 1017
    assert fs.glob(f"{base}/**/*.bin") == [f"{base}/a.bin", f"{base}/sub/b.bin"]


def test_exact_sizes_resolve_with_a_head(
    stack: Any, key_file: str, s3: Any, bucket: str, key_name: str
) -> None:
    s3.put_object(Bucket=bucket, Key=f"{key_name}/plain.txt", Body=b"not encrypted at all")
    exact = fsspec.filesystem(
        "s3cse",
        aes_key_file=key_file,
        exact_sizes=True,
        skip_instance_cache=True,
        endpoint_url=stack.s3_endpoint,
    )
    exact.pipe(f"{bucket}/{key_name}/enc.bin", b"z" * 50)
    sizes = {
        entry["name"].rsplit("/", 1)[1]: (entry["size"], entry["s3cse_size"])
        for entry in exact.ls(f"{bucket}/{key_name}", detail=True)
    }
    assert sizes == {"enc.bin": (50, "exact"), "plain.txt": (20, "not-encrypted")}


def test_rm_mv_cp_move_sidecars(fs: S3CSEFileSystem, s3: Any, bucket: str, key_name: str) -> None:
    base = f"{bucket}/{key_name}"
    fs.pipe(f"{base}/a.bin", b"payload" * 100)
    fs.cp(f"{base}/a.bin", f"{base}/b.bin")
    fs.mv(f"{base}/b.bin", f"{base}/c.bin")
    assert fs.cat(f"{base}/c.bin") == b"payload" * 100
    keys = {
        o["Key"].removeprefix(key_name + "/")
        for o in s3.list_objects_v2(Bucket=bucket, Prefix=key_name)["Contents"]
    }
    assert keys == {"a.bin", "a.bin.s3cse-index", "c.bin", "c.bin.s3cse-index"}
    with fs.open(f"{base}/c.bin", "rb") as f:  # the copied index still vouches for c.bin
        assert f.protection == "indexed"
    fs.rm(base, recursive=True)
    assert s3.list_objects_v2(Bucket=bucket, Prefix=key_name).get("KeyCount", 0) == 0


def test_put_get_cat_ranges(
    fs: S3CSEFileSystem, bucket: str, key_name: str, tmp_path: Path
) -> None:
    data = os.urandom(3 * CHUNK_SIZE + 11)
    local = tmp_path / "in.bin"
    local.write_bytes(data)
    fs.put(str(local), f"{bucket}/{key_name}/in.bin")
    fs.get(f"{bucket}/{key_name}/in.bin", str(tmp_path / "out.bin"))
    assert (tmp_path / "out.bin").read_bytes() == data
    assert fs.cat_file(f"{bucket}/{key_name}/in.bin", start=-100) == data[-100:]
    assert (
        fs.cat_file(f"{bucket}/{key_name}/in.bin", start=5, end=CHUNK_SIZE + 9)
        == data[5 : CHUNK_SIZE + 9]
    )


@pytest.mark.parametrize("mode", ["indexed", "whole", "unauthenticated"])
def test_seekable_reads(
    mode: str, stack: Any, key_file: str, s3: Any, bucket: str, key_name: str
) -> None:
    data = os.urandom(2 * MiB + 5)
    writer = EncryptionClient(aes_keyring(0), s3_client=s3, integrity_index=mode == "indexed")
    writer.put_object(Bucket=bucket, Key=key_name, Body=data)
    fs = fsspec.filesystem(
        "s3cse",
        aes_key_file=key_file,
        skip_instance_cache=True,
        unauthenticated_ranges=mode == "unauthenticated",
        endpoint_url=stack.s3_endpoint,
    )
    with fs.open(f"{bucket}/{key_name}", "rb", block_size=256 * 1024) as f:
        assert f.protection == mode and f.size == len(data)
        f.seek(-8, 2)
        assert f.read() == data[-8:]
        f.seek(1000)
        assert f.read(5000) == data[1000:6000]
        f.seek(0)
        assert f.read() == data


def test_sequential_read_verifies_the_tag(
    stack: Any, key_file: str, s3: Any, bucket: str, key_name: str
) -> None:
    EncryptionClient(aes_keyring(0), s3_client=s3).put_object(
        Bucket=bucket, Key=key_name, Body=os.urandom(MiB)
    )
    obj = s3.get_object(Bucket=bucket, Key=key_name)
    tampered = bytearray(obj["Body"].read())
    tampered[MiB // 2] ^= 1
    s3.put_object(Bucket=bucket, Key=key_name, Body=bytes(tampered), Metadata=obj["Metadata"])
    for unauthenticated in (True, False):
        fs = fsspec.filesystem(
            "s3cse",
            aes_key_file=key_file,
            skip_instance_cache=True,
            unauthenticated_ranges=unauthenticated,
            endpoint_url=stack.s3_endpoint,
        )
        with (
            pytest.raises(e.TagMismatchError),
            fs.open(f"{bucket}/{key_name}", "rb", block_size=256 * 1024) as f,
        ):
            f.read()


def test_streaming_write_of_a_large_file(
    fs: S3CSEFileSystem, s3: Any, bucket: str, key_name: str
) -> None:
    data = os.urandom(21 * MiB + 3)
    with fs.open(f"{bucket}/{key_name}/big.bin", "wb", block_size=5 * MiB) as f:
        for start in range(0, len(data), MiB):
            f.write(data[start : start + MiB])
    head = s3.head_object(Bucket=bucket, Key=f"{key_name}/big.bin")
    assert "-" in head["ETag"]  # it went up as a multipart upload
    assert fs.cat(f"{bucket}/{key_name}/big.bin") == data


@pytest.mark.parametrize("size", [100, 12 * MiB])
def test_failed_write_leaves_nothing(
    size: int, fs: S3CSEFileSystem, s3: Any, bucket: str, key_name: str
) -> None:
    path = f"{bucket}/{key_name}/partial.bin"
    with (
        pytest.raises(RuntimeError, match="producer failed"),
        fs.open(path, "wb", block_size=5 * MiB) as f,
    ):
        f.write(os.urandom(size))
        raise RuntimeError("producer failed")
    assert not s3.list_objects_v2(Bucket=bucket, Prefix=key_name).get("Contents")
    assert not s3.list_multipart_uploads(Bucket=bucket, Prefix=key_name).get("Uploads")


def test_pickles_as_its_options_without_key_bytes(
    fs: S3CSEFileSystem, key_file: str, bucket: str, key_name: str
) -> None:
    fs.pipe(f"{bucket}/{key_name}/p.bin", b"across processes")
    blob = pickle.dumps(fs)
    assert aes_key(0) not in blob and key_file.encode() in blob
    clone = pickle.loads(blob)
    clone._encryption_client = None  # as in a fresh process
    assert clone.cat(f"{bucket}/{key_name}/p.bin") == b"across processes"


def test_wrong_key_is_a_clear_error(
    stack: Any, tmp_path: Path, fs: S3CSEFileSystem, bucket: str, key_name: str
) -> None:
    fs.pipe(f"{bucket}/{key_name}/k.bin", b"secret")
    other = tmp_path / "other.key"
    other.write_bytes(os.urandom(32))
    wrong = fsspec.filesystem(
        "s3cse", aes_key_file=str(other), skip_instance_cache=True, endpoint_url=stack.s3_endpoint
    )
    with pytest.raises(e.KeyUnwrapError, match=f"s3://{bucket}/{key_name}/k.bin"):
        wrong.cat(f"{bucket}/{key_name}/k.bin")


def test_needs_a_key(stack: Any) -> None:
    with pytest.raises(e.ConfigurationError, match="needs a key"):
        fsspec.filesystem("s3cse", skip_instance_cache=True, endpoint_url=stack.s3_endpoint)


def test_text_and_buffered_io(fs: S3CSEFileSystem, bucket: str, key_name: str) -> None:
    with fs.open(f"{bucket}/{key_name}/t.csv", "w") as f:
        f.write("a,b\n1,2\n")
    with fs.open(f"{bucket}/{key_name}/t.csv", "r") as f:
        assert f.readlines() == ["a,b\n", "1,2\n"]
    assert io.BytesIO(fs.cat(f"{bucket}/{key_name}/t.csv")).read(3) == b"a,b"
