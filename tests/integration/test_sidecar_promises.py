"""Sidecars always match their object; user objects named like sidecars stay theirs.

An object ``KEY`` may have ``KEY.instruction`` and ``KEY.s3cse-index`` beside it. Every
write leaves them consistent with the object it stored (a stale one is replaced or
removed; one left by an interrupted write reads as stale, not as tampering), and a
user's own object that only carries such a name (``setup.instruction`` beside ``setup``)
is listed, copied, downloaded and kept like any other: never hidden, skipped,
overwritten or deleted because of its name.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import fsspec
import pytest

from s3cse import EncryptionClient
from s3cse import errors as e
from s3cse.core.integrity import CHUNK_SIZE, SUFFIX
from s3cse.fs import S3CSEFileSystem
from s3cse.lifecycle import Job, KeySpec, list_keys
from s3cse.transfer import TransferConfig

from ..conftest import MakeClient
from ..keys import aes_key, aes_keyring
from .test_cli import assert_clean_error, err, run

pytestmark = pytest.mark.integration
MiB = 1024 * 1024
PARTS = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
DATA = os.urandom(3 * CHUNK_SIZE + 100)


# ---------------------------------------------------------------- helpers


def exists(s3: Any, bucket: str, key: str) -> bool:
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=key).get("Contents", [])
    return any(item["Key"] == key for item in listed)


def read(client: Any, bucket: str, key: str, **kwargs: Any) -> bytes:
    data: bytes = client.get_object(Bucket=bucket, Key=key, **kwargs)["Body"].read()
    return data


def stored(s3: Any, bucket: str, key: str) -> bytes:
    data: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return data


def write(client: Any, bucket: str, key: str, data: bytes, how: str, **options: Any) -> None:
    """One write of ``key``: a single PutObject, or a multipart upload."""
    if how == "put":
        client.put_object(Bucket=bucket, Key=key, Body=data, **options)
    else:
        client.upload_fileobj(io.BytesIO(data), bucket, key, Config=PARTS, ExtraArgs=options)


def filesystem(stack: Any, **options: Any) -> S3CSEFileSystem:
    fs: S3CSEFileSystem = fsspec.filesystem(
        "s3cse",
        aes_key=aes_key(0),
        skip_instance_cache=True,
        endpoint_url=stack.s3_endpoint,
        **options,
    )
    return fs


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "aes.key"
    path.write_bytes(aes_key(0))
    return path


# ---------------------------------------------------------------- 1. writes leave no stale sidecar


@pytest.mark.parametrize("how", ["put", "multipart"])
def test_rewrite_without_index_removes_the_old_index(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str, how: str
) -> None:
    client = make_client(aes_keyring(0))
    write(client, bucket, key_name, DATA, "put", IntegrityIndex=True)
    data = os.urandom(6 * MiB) if how == "multipart" else DATA[::-1]
    write(client, bucket, key_name, data, how)
    assert not exists(s3, bucket, key_name + SUFFIX)
    ranged = make_client(aes_keyring(0), unauthenticated_ranges=True)
    assert read(ranged, bucket, key_name, Range="bytes=10-99") == data[10:100]
    with pytest.raises(e.ConfigurationError, match="IntegrityIndex=True"):
        read(client, bucket, key_name, Range="bytes=10-99")


def test_readme_quick_starts_in_a_row_read_ranges_through_s3cse_urls(
    make_client: MakeClient, stack: Any, bucket: str, key_name: str
) -> None:
    """Sync with IntegrityIndex=True, then async (or sync) without, then s3cse://."""
    make_client(aes_keyring(0)).put_object(
        Bucket=bucket, Key=key_name, Body=DATA, IntegrityIndex=True
    )
    make_client(aes_keyring(0)).put_object(Bucket=bucket, Key=key_name, Body=DATA[::-1])
    fs = filesystem(stack)
    assert fs.cat_file(f"{bucket}/{key_name}", 5, 50) == DATA[::-1][5:50]
    with fs.open(f"{bucket}/{key_name}") as f:
        assert f.protection == "whole"


def test_fs_overwrite_without_index_removes_it(
    stack: Any, s3: Any, bucket: str, key_name: str
) -> None:
    filesystem(stack).pipe(f"{bucket}/{key_name}", DATA)  # indexed by default
    plain = filesystem(stack, integrity_index=False)
    plain.pipe(f"{bucket}/{key_name}", DATA[:1000])
    assert not exists(s3, bucket, key_name + SUFFIX)
    assert plain.cat_file(f"{bucket}/{key_name}", 0, 10) == DATA[:10]


@pytest.mark.parametrize("how", ["put", "multipart"])
def test_rewrite_with_metadata_removes_the_old_instruction_file(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str, how: str
) -> None:
    client = make_client(aes_keyring(0))
    write(client, bucket, key_name, b"first", "put", InstructionFile=True)
    data = os.urandom(6 * MiB) if how == "multipart" else b"second"
    write(client, bucket, key_name, data, how)
    assert not exists(s3, bucket, key_name + ".instruction")
    assert read(client, bucket, key_name) == data


def test_object_metadata_wins_over_an_instruction_file(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str
) -> None:
    """Even where a stale instruction file remains (a write interrupted before it was
    removed), an object that carries its key in its metadata is read by that key."""
    client = make_client(aes_keyring(0))
    client.put_object(Bucket=bucket, Key=key_name, Body=b"old", InstructionFile=True)
    left = stored(s3, bucket, key_name + ".instruction")
    client.put_object(Bucket=bucket, Key=key_name, Body=b"new")
    s3.put_object(Bucket=bucket, Key=key_name + ".instruction", Body=left)
    assert read(client, bucket, key_name) == b"new"


def test_copy_without_index_removes_the_targets_old_index(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str
) -> None:
    client = make_client(aes_keyring(0))
    client.put_object(Bucket=bucket, Key=key_name + "/dst", Body=DATA, IntegrityIndex=True)
    client.put_object(Bucket=bucket, Key=key_name + "/src", Body=b"plain copy")
    client.copy_object(
        Bucket=bucket,
        Key=key_name + "/dst",
        CopySource={"Bucket": bucket, "Key": key_name + "/src"},
    )
    assert not exists(s3, bucket, key_name + "/dst" + SUFFIX)
    assert read(client, bucket, key_name + "/dst") == b"plain copy"


# ---------------------------------------------------------------- 1. stale is not tampering


def leave_stale_index(client: Any, s3: Any, bucket: str, key: str, data: bytes) -> None:
    """The state an interrupted write leaves: the new object, the old object's index."""
    client.put_object(Bucket=bucket, Key=key, Body=os.urandom(2 * CHUNK_SIZE), IntegrityIndex=True)
    old_index = stored(s3, bucket, key + SUFFIX)
    client.put_object(Bucket=bucket, Key=key, Body=data)
    s3.put_object(Bucket=bucket, Key=key + SUFFIX, Body=old_index)


def test_stale_index_is_named_stale_not_tampering(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str
) -> None:
    client = make_client(aes_keyring(0))
    leave_stale_index(client, s3, bucket, key_name, DATA)
    with pytest.raises(e.ConfigurationError, match="earlier version of the object") as raised:
        read(client, bucket, key_name, Range="bytes=0-9")
    assert not isinstance(raised.value, e.AuthenticationError)
    assert "tampered" not in str(raised.value)
    assert f"s3://{bucket}/{key_name}" in str(raised.value)
    assert read(client, bucket, key_name) == DATA  # a whole read does not need it


def test_stale_index_falls_back_to_what_the_object_allows(
    make_client: MakeClient, stack: Any, s3: Any, bucket: str, key_name: str
) -> None:
    client = make_client(aes_keyring(0), unauthenticated_ranges=True)
    leave_stale_index(client, s3, bucket, key_name, DATA)
    assert (
        read(client, bucket, key_name, Range=f"bytes={CHUNK_SIZE}-{CHUNK_SIZE + 9}")
        == DATA[CHUNK_SIZE : CHUNK_SIZE + 10]
    )
    fs = filesystem(stack)
    with fs.open(f"{bucket}/{key_name}") as f:
        assert f.protection == "whole"  # verified as a whole, as without an index
        f.seek(100)
        assert f.read(10) == DATA[100:110]


def test_user_object_named_like_an_index_is_not_read_as_one(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str
) -> None:
    client = make_client(aes_keyring(0), unauthenticated_ranges=True)
    client.put_object(Bucket=bucket, Key=key_name, Body=DATA)
    client.put_object(Bucket=bucket, Key=key_name + SUFFIX, Body=b"my own notes")
    assert read(client, bucket, key_name, Range="bytes=0-9") == DATA[:10]
    assert read(client, bucket, key_name + SUFFIX) == b"my own notes"


# ---------------------------------------------------------------- 2. user objects kept (API)


@pytest.mark.parametrize("how", ["put", "multipart"])
def test_instruction_file_never_overwrites_a_user_object(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str, how: str
) -> None:
    client = make_client(aes_keyring(0))
    client.put_object(Bucket=bucket, Key=key_name + ".instruction", Body=b"user notes")
    before = stored(s3, bucket, key_name + ".instruction")
    data = os.urandom(6 * MiB) if how == "multipart" else b"setup"
    with pytest.raises(e.ConfigurationError, match="object of its own") as raised:
        write(client, bucket, key_name, data, how, InstructionFile=True)
    assert "Nothing was written" in str(raised.value)
    assert not exists(s3, bucket, key_name)
    assert stored(s3, bucket, key_name + ".instruction") == before
    assert read(client, bucket, key_name + ".instruction") == b"user notes"
    assert s3.list_multipart_uploads(Bucket=bucket, Prefix=key_name).get("Uploads", []) == []


def test_index_never_overwrites_a_user_object(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str
) -> None:
    client = make_client(aes_keyring(0))
    client.put_object(Bucket=bucket, Key=key_name + SUFFIX, Body=b"user notes")
    with pytest.raises(e.ConfigurationError, match="object of its own"):
        client.put_object(Bucket=bucket, Key=key_name, Body=DATA, IntegrityIndex=True)
    assert not exists(s3, bucket, key_name)
    assert read(client, bucket, key_name + SUFFIX) == b"user notes"


def test_copies_and_deletes_keep_user_objects_named_like_sidecars(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str
) -> None:
    client = make_client(aes_keyring(0))
    owner, other, indexed = (f"{key_name}/{n}" for n in ("setup", "other", "indexed"))
    for suffix in (".instruction", SUFFIX):
        client.put_object(Bucket=bucket, Key=owner + suffix, Body=suffix.encode())
    client.put_object(Bucket=bucket, Key=owner, Body=b"v1")
    client.put_object(Bucket=bucket, Key=other, Body=b"other")
    client.put_object(Bucket=bucket, Key=indexed, Body=b"i", IntegrityIndex=True)
    client.copy_object(Bucket=bucket, Key=owner, CopySource=f"{bucket}/{other}")
    assert read(client, bucket, owner) == b"other"
    client.copy_object(Bucket=bucket, Key=other, CopySource=f"{bucket}/{owner}")
    assert not exists(s3, bucket, other + ".instruction")  # not the source's sidecar
    assert not exists(s3, bucket, other + SUFFIX)
    with pytest.raises(e.ConfigurationError, match="object of its own"):
        client.copy_object(Bucket=bucket, Key=owner, CopySource=f"{bucket}/{indexed}")
    assert read(client, bucket, owner) == b"other"
    client.delete_object(Bucket=bucket, Key=owner)
    client.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": other}]})
    for suffix in (".instruction", SUFFIX):
        assert read(client, bucket, owner + suffix) == suffix.encode()
    assert not exists(s3, bucket, owner)
    assert not exists(s3, bucket, other)


def test_delete_still_removes_the_objects_own_sidecars(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str
) -> None:
    client = make_client(aes_keyring(0))
    for name in ("a", "b"):
        client.put_object(
            Bucket=bucket,
            Key=f"{key_name}/{name}",
            Body=b"x",
            InstructionFile=True,
            IntegrityIndex=True,
        )
    client.delete_object(Bucket=bucket, Key=f"{key_name}/a")
    client.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": f"{key_name}/b"}]})
    assert s3.list_objects_v2(Bucket=bucket, Prefix=key_name).get("Contents", []) == []


# ---------------------------------------------------------------- 2. s3cse:// and lifecycle


def test_fs_lists_and_keeps_user_objects_named_like_sidecars(
    stack: Any, bucket: str, key_name: str
) -> None:
    fs = filesystem(stack, instruction_file=True, integrity_index=False)
    base = f"{bucket}/{key_name}"
    plain = filesystem(stack)
    plain.pipe(f"{base}/setup.instruction", b"user notes")
    plain.pipe(f"{base}/v.mp4{SUFFIX}", b"more notes")
    fs.pipe(f"{base}/v.mp4", b"video")  # its instruction file is hidden
    plain.pipe(f"{base}/setup", b"setup")
    assert sorted(fs.ls(base)) == [
        f"{base}/setup",
        f"{base}/setup.instruction",
        f"{base}/v.mp4",
        f"{base}/v.mp4{SUFFIX}",
    ]
    assert sorted(fs.find(base)) == sorted(fs.ls(base))
    fs.rm(f"{base}/setup")
    fs.rm(f"{base}/v.mp4")
    assert sorted(fs.ls(base, refresh=True)) == [
        f"{base}/setup.instruction",
        f"{base}/v.mp4{SUFFIX}",
    ]
    assert fs.cat_file(f"{base}/setup.instruction") == b"user notes"


def test_lifecycle_lists_user_objects_named_like_sidecars(
    s3: Any, bucket: str, key_name: str, key_file: Path
) -> None:
    client = EncryptionClient(aes_keyring(0), s3_client=s3)
    client.put_object(Bucket=bucket, Key=f"{key_name}/x", Body=b"x", InstructionFile=True)
    client.put_object(Bucket=bucket, Key=f"{key_name}/x{SUFFIX}", Body=b"user object")
    client.put_object(Bucket=bucket, Key=f"{key_name}/setup", Body=b"s")
    client.put_object(Bucket=bucket, Key=f"{key_name}/setup.instruction", Body=b"user")
    job = Job("migrate", bucket, key_name, KeySpec(aes_key_file=str(key_file)))
    assert sorted(list_keys(job, s3)) == [
        f"{key_name}/setup",
        f"{key_name}/setup.instruction",
        f"{key_name}/x",
        f"{key_name}/x{SUFFIX}",
    ]


# ---------------------------------------------------------------- 2. the command line


@pytest.fixture
def setup_dir(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    root.mkdir()
    (root / "setup").write_bytes(b"the installer")
    (root / "setup.instruction").write_bytes(b"how to run the installer")
    (root / "apple.txt").write_bytes(b"apple")
    return root


def test_cli_ls_and_cp_recursive_keep_files_named_like_sidecars(
    setup_dir: Path, key_file: Path, bucket: str, key_name: str, tmp_path: Path
) -> None:
    url = f"s3://{bucket}/{key_name}"
    up = run("cp", "-r", setup_dir, url, "--aes-key-file", key_file, "--integrity-index")
    assert up.returncode == 0, err(up)
    listing = run("ls", f"{url}/")
    assert listing.returncode == 0, err(listing)
    assert sorted(row.split()[-1] for row in listing.stdout.decode().splitlines()) == [
        "apple.txt",
        "setup",
        "setup.instruction",
    ]
    out = tmp_path / "back"
    down = run("cp", "-r", url, out, "--aes-key-file", key_file)
    assert down.returncode == 0, err(down)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == {
        p.name: p.read_bytes() for p in setup_dir.iterdir()
    }


def test_cli_instruction_file_upload_refuses_to_overwrite_a_file(
    setup_dir: Path, key_file: Path, s3: Any, bucket: str, key_name: str, tmp_path: Path
) -> None:
    url = f"s3://{bucket}/{key_name}"
    up = run("cp", "-r", setup_dir, url, "--aes-key-file", key_file, "--instruction-file")
    assert up.returncode != 0
    assert "setup.instruction is an object of its own" in err(up)
    assert not exists(s3, bucket, f"{key_name}/setup")
    back = run("cat", f"{url}/setup.instruction", "--aes-key-file", key_file)
    assert back.returncode == 0, err(back)
    assert back.stdout == b"how to run the installer"
    single = run(
        "cp", setup_dir / "setup", f"{url}/setup", "--aes-key-file", key_file, "--instruction-file"
    )
    assert_clean_error(single, 2, "object of its own")
    assert not exists(s3, bucket, f"{key_name}/setup")


def test_cli_rm_refuses_a_live_sidecar_without_force(
    key_file: Path, s3: Any, bucket: str, key_name: str
) -> None:
    client = EncryptionClient(aes_keyring(0), s3_client=s3)
    apple = f"{key_name}/apple.txt"
    client.put_object(
        Bucket=bucket, Key=apple, Body=b"apple", InstructionFile=True, IntegrityIndex=True
    )
    for suffix, needs in (
        (".instruction", "cannot be decrypted without it"),
        (SUFFIX, "verified byte ranges"),
    ):
        refused = run("rm", f"s3://{bucket}/{apple}{suffix}")
        line = assert_clean_error(refused, 2, f"of s3://{bucket}/{apple}", needs)
        assert "--force" in line
    assert read(client, bucket, apple) == b"apple"
    forced = run("rm", "--force", f"s3://{bucket}/{apple}{SUFFIX}")
    assert forced.returncode == 0, err(forced)
    assert not exists(s3, bucket, apple + SUFFIX)
    gone = run("rm", f"s3://{bucket}/{apple}")
    assert gone.returncode == 0, err(gone)
    assert s3.list_objects_v2(Bucket=bucket, Prefix=key_name).get("Contents", []) == []


def test_cli_rm_deletes_user_objects_and_stale_sidecars_without_force(
    key_file: Path, s3: Any, bucket: str, key_name: str
) -> None:
    client = EncryptionClient(aes_keyring(0), s3_client=s3)
    setup = f"{key_name}/setup"
    client.put_object(Bucket=bucket, Key=setup, Body=b"s")
    client.put_object(Bucket=bucket, Key=setup + ".instruction", Body=b"user notes")
    leave_stale_index(client, s3, bucket, f"{key_name}/v", b"v2")
    for name in (setup + ".instruction", f"{key_name}/v{SUFFIX}"):
        result = run("rm", f"s3://{bucket}/{name}")
        assert result.returncode == 0, err(result)
        assert not exists(s3, bucket, name)
    assert read(client, bucket, setup) == b"s"
    assert read(client, bucket, f"{key_name}/v") == b"v2"


def test_stale_index_is_ignored_by_whole_reads_and_s3cse_urls(
    key_file: Path, s3: Any, bucket: str, key_name: str, stack: Any
) -> None:
    leave_stale_index(EncryptionClient(aes_keyring(0), s3_client=s3), s3, bucket, key_name, DATA)
    fs = filesystem(stack)
    assert fs.cat_file(f"{bucket}/{key_name}", 0, 10) == DATA[:10]
    whole = run("cat", f"s3://{bucket}/{key_name}", "--aes-key-file", key_file)
    assert whole.returncode == 0, err(whole)
    assert whole.stdout == DATA
