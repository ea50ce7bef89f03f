"""The rest of the ``s3cse`` command, run for real in a subprocess against the local stack:
bulk ``rotate`` / ``migrate`` (threads, Dask, killed and rerun), ``cp --recursive``,
``ls``, ``cat``, ``rm``, SSE on top of CSE, and exit codes.

Objects a test only reads are written in-process with the library (faster); everything
under test goes through the command.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from s3cse import AesKeyring, EncryptionClient, KmsKeyring
from s3cse import errors as e

from .. import legacy
from .test_cli import assert_clean_error, err, run

pytestmark = pytest.mark.integration

CONTEXT_ARGS = ["--encryption-context", "dept=finance"]


@dataclass(frozen=True)
class KeyFiles:
    old: Path
    new: Path
    stranger: Path
    sse_c: Path
    old_key: bytes
    new_key: bytes
    stranger_key: bytes


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> KeyFiles:
    d = tmp_path_factory.mktemp("more-keys")
    raw = {name: os.urandom(32) for name in ("old", "new", "stranger", "sse_c")}
    for name, key in raw.items():
        (d / f"{name}.key").write_bytes(key)
    return KeyFiles(
        d / "old.key",
        d / "new.key",
        d / "stranger.key",
        d / "sse_c.key",
        raw["old"],
        raw["new"],
        raw["stranger"],
    )


def aes_client(s3: Any, key: bytes, **options: Any) -> EncryptionClient:
    return EncryptionClient(AesKeyring(key), s3_client=s3, **options)


def read(client: EncryptionClient, bucket: str, key: str, **kwargs: Any) -> bytes:
    data: bytes = client.get_object(Bucket=bucket, Key=key, **kwargs)["Body"].read()
    return data


def listed(s3: Any, bucket: str, prefix: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def json_lines(result: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.decode().splitlines() if line.strip()]


def stderr_lines(result: Any) -> list[str]:
    return err(result).strip().splitlines()


# ---------------------------------------------------------------------------- rotate


def test_rotate_aes_to_aes_then_to_kms(
    keys: KeyFiles, s3: Any, kms: Any, kms_key_id: str, bucket: str, key_name: str
) -> None:
    old = aes_client(s3, keys.old_key)
    data = {"meta": os.urandom(3000), "sub/instr": os.urandom(100)}
    old.put_object(
        Bucket=bucket,
        Key=f"{key_name}/meta",
        Body=data["meta"],
        ContentType="text/x",
        Metadata={"owner": "ops"},
    )
    aes_client(s3, keys.old_key, instruction_file=True).put_object(
        Bucket=bucket, Key=f"{key_name}/sub/instr", Body=data["sub/instr"]
    )
    url = f"s3://{bucket}/{key_name}"
    rotate_args = ["rotate", url, "--aes-key-file", keys.old, "--to-aes-key-file", keys.new]
    before = s3.head_object(Bucket=bucket, Key=f"{key_name}/meta")["Metadata"]

    dry = run(*rotate_args, "--dry-run", "--json")
    assert dry.returncode == 0, err(dry)
    *objects, summary = json_lines(dry)
    assert sorted((o["key"], o["action"]) for o in objects) == [
        (f"{key_name}/meta", "would-rotate"),
        (f"{key_name}/sub/instr", "would-rotate"),
    ]
    assert summary["summary"] == {"would-rotate": 2} and summary["dry_run"] is True
    assert s3.head_object(Bucket=bucket, Key=f"{key_name}/meta")["Metadata"] == before
    assert read(old, bucket, f"{key_name}/meta") == data["meta"]

    rotated = run(*rotate_args, "--json")
    assert rotated.returncode == 0, err(rotated)
    *objects, summary = json_lines(rotated)
    assert {o["action"] for o in objects} == {"rotated"}
    assert all(set(o) == {"key", "action", "detail"} for o in objects)
    assert summary["summary"] == {"rotated": 2}
    assert summary["total"] == 2 and summary["failed"] == 0
    # progress: one line per object on stderr (not a terminal), then the totals
    lines = stderr_lines(rotated)
    assert sum(line.startswith(f"rotated: {url}/") for line in lines) == 2, lines
    assert "2 rotated" in lines[-1]

    new = aes_client(s3, keys.new_key)
    for name, plaintext in data.items():
        assert read(new, bucket, f"{key_name}/{name}") == plaintext
        with pytest.raises(e.KeyUnwrapError):
            read(old, bucket, f"{key_name}/{name}")
    head = s3.head_object(Bucket=bucket, Key=f"{key_name}/meta")
    assert head["ContentType"] == "text/x" and head["Metadata"]["owner"] == "ops"
    old_read = run("cat", f"{url}/meta", "--aes-key-file", keys.old)
    assert_clean_error(old_read, 1, f"{url}/meta")
    assert old_read.stdout == b""

    again = run(*rotate_args)
    assert again.returncode == 0, err(again)
    assert again.stdout == b""
    lines = stderr_lines(again)
    assert sum(line.startswith("skipped: ") for line in lines) == 2, lines
    assert "2 skipped" in lines[-1]

    to_kms = run(
        "rotate",
        url,
        "--aes-key-file",
        keys.new,
        "--to-kms-key-id",
        kms_key_id,
        *CONTEXT_ARGS,
        "--json",
        "--quiet",
    )
    assert to_kms.returncode == 0, err(to_kms)
    assert err(to_kms) == ""  # --quiet: failures only
    assert json_lines(to_kms)[-1]["summary"] == {"rotated": 2}
    by_kms = EncryptionClient(KmsKeyring(kms_key_id, kms_client=kms), s3_client=s3)
    for name, plaintext in data.items():
        assert (
            read(by_kms, bucket, f"{key_name}/{name}", EncryptionContext={"dept": "finance"})
            == plaintext
        )
    with pytest.raises(e.KeyUnwrapError):
        read(new, bucket, f"{key_name}/meta")
    streamed = run("cat", f"{url}/meta", "--kms-key-id", kms_key_id, *CONTEXT_ARGS)
    assert streamed.returncode == 0, err(streamed)
    assert streamed.stdout == data["meta"]


def test_rotate_reports_failures_and_exits_1(
    keys: KeyFiles, s3: Any, bucket: str, key_name: str
) -> None:
    aes_client(s3, keys.old_key).put_object(Bucket=bucket, Key=f"{key_name}/mine", Body=b"m")
    aes_client(s3, keys.stranger_key).put_object(Bucket=bucket, Key=f"{key_name}/theirs", Body=b"t")
    url = f"s3://{bucket}/{key_name}"
    result = run("rotate", url, "--aes-key-file", keys.old, "--to-aes-key-file", keys.new, "--json")
    assert result.returncode == 1, err(result)
    by_key = {o["key"]: o for o in json_lines(result)[:-1]}
    assert by_key[f"{key_name}/mine"]["action"] == "rotated"
    assert by_key[f"{key_name}/theirs"]["action"] == "failed"
    assert "no AES key" in by_key[f"{key_name}/theirs"]["detail"]
    assert json_lines(result)[-1]["failed"] == 1
    lines = stderr_lines(result)
    assert "Traceback" not in err(result)
    assert any(
        line.startswith("s3cse: error: no AES key") and f"[{url}/theirs]" in line for line in lines
    ), lines
    assert lines[-1] == "s3cse: error: 1 of 2 objects failed"
    assert read(aes_client(s3, keys.stranger_key), bucket, f"{key_name}/theirs") == b"t"


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["--aes-key-file", "OLD"], 2, "--to-"),
        (["--to-aes-key-file", "NEW"], 2, "no key given"),
        (
            ["--aes-key-file", "OLD", "--to-aes-key-file", "NEW", "--to-kms-key-id", "k"],
            2,
            "give one new key",
        ),
        (["--aes-key-file", "missing.key", "--to-aes-key-file", "NEW"], 2, "missing.key"),
        (
            ["--aes-key-file", "OLD", "--to-aes-key-file", "NEW", "--to-matdesc", "[1]"],
            2,
            "--to-matdesc",
        ),
        (
            ["--aes-key-file", "OLD", "--to-aes-key-file", "NEW", "--bucket-is-missing"],
            4,
            "no such bucket",
        ),
    ],
    ids=[
        "no-target",
        "no-current-key",
        "two-targets",
        "missing-key-file",
        "bad-matdesc",
        "missing-bucket",
    ],
)
def test_rotate_usage_errors(
    args: list[str],
    code: int,
    fragment: str,
    keys: KeyFiles,
    bucket: str,
    tmp_path: Path,
    stack: Any,
) -> None:
    url = f"s3://{bucket}/nothing-here"
    if "--bucket-is-missing" in args:
        args, url = args[:-1], "s3://s3cse-no-such-bucket/p"
    args = [
        str(keys.old)
        if a == "OLD"
        else str(keys.new)
        if a == "NEW"
        else str(tmp_path / a)
        if a == "missing.key"
        else a
        for a in args
    ]
    assert_clean_error(run("rotate", url, *args), code, fragment)


# ---------------------------------------------------------------------------- migrate


def legacy_tree(s3: Any, keys: KeyFiles, bucket: str, prefix: str) -> dict[str, bytes]:
    """A V1 (AES-CBC, ECB-wrapped key), a V2 GCM and a V3 object."""
    plaintexts = {"v1": os.urandom(5000), "v2": os.urandom(3000), "v3": os.urandom(100)}
    ciphertext, md = legacy.v1_aes_cbc(keys.old_key, plaintexts["v1"])
    s3.put_object(
        Bucket=bucket,
        Key=f"{prefix}/v1",
        Body=ciphertext,
        Metadata=md,
        ContentType="application/x-legacy",
    )
    aes_client(s3, keys.old_key, format="v2").put_object(
        Bucket=bucket, Key=f"{prefix}/v2", Body=plaintexts["v2"]
    )
    aes_client(s3, keys.old_key).put_object(
        Bucket=bucket, Key=f"{prefix}/v3", Body=plaintexts["v3"]
    )
    return plaintexts


def assert_all_v3(
    s3: Any, key: bytes, bucket: str, prefix: str, plaintexts: dict[str, bytes]
) -> None:
    strict = aes_client(s3, key)  # default policy: V3 (key commitment) only
    for name, plaintext in plaintexts.items():
        assert read(strict, bucket, f"{prefix}/{name}") == plaintext, name
        assert "x-amz-3" in s3.head_object(Bucket=bucket, Key=f"{prefix}/{name}")["Metadata"]
    assert sorted(listed(s3, bucket, prefix)) == sorted(f"{prefix}/{n}" for n in plaintexts)


def test_migrate_legacy_objects_to_v3(keys: KeyFiles, s3: Any, bucket: str, key_name: str) -> None:
    plaintexts = legacy_tree(s3, keys, bucket, key_name)
    v1_before = s3.get_object(Bucket=bucket, Key=f"{key_name}/v1")["Body"].read()
    url = f"s3://{bucket}/{key_name}"

    dry = run("migrate", url, "--legacy", "--aes-key-file", keys.old, "--dry-run")
    assert dry.returncode == 0, err(dry)
    assert s3.get_object(Bucket=bucket, Key=f"{key_name}/v1")["Body"].read() == v1_before
    assert "1 skipped, 2 would-migrate" in stderr_lines(dry)[-1]

    result = run(
        "migrate", url, "--legacy", "--aes-key-file", keys.old, "--json", "--concurrency", "2"
    )
    assert result.returncode == 0, err(result)
    *objects, summary = json_lines(result)
    actions = {o["key"].rsplit("/", 1)[1]: o["action"] for o in objects}
    assert actions == {"v1": "migrated", "v2": "migrated", "v3": "skipped"}
    assert summary["summary"] == {"migrated": 2, "skipped": 1}
    assert_all_v3(s3, keys.old_key, bucket, key_name, plaintexts)
    assert (
        s3.head_object(Bucket=bucket, Key=f"{key_name}/v1")["ContentType"] == "application/x-legacy"
    )

    again = run("migrate", url, "--legacy", "--aes-key-file", keys.old, "--json")
    assert again.returncode == 0, err(again)
    assert json_lines(again)[-1]["summary"] == {"skipped": 3}


def test_migrate_to_a_new_key(keys: KeyFiles, s3: Any, bucket: str, key_name: str) -> None:
    plaintexts = legacy_tree(s3, keys, bucket, key_name)
    result = run(
        "migrate",
        f"s3://{bucket}/{key_name}",
        "--legacy",
        "--aes-key-file",
        keys.old,
        "--to-aes-key-file",
        keys.new,
        "--to-matdesc",
        '{"key": "2026"}',
        "-q",
    )
    assert result.returncode == 0, err(result)
    assert err(result) == ""
    strict = EncryptionClient(AesKeyring(keys.new_key, {"key": "2026"}), s3_client=s3)
    for name, plaintext in plaintexts.items():
        assert read(strict, bucket, f"{key_name}/{name}") == plaintext


def test_migrate_killed_mid_run_finishes_on_rerun(
    keys: KeyFiles, s3: Any, bucket: str, key_name: str
) -> None:
    plaintexts = {}
    for i in range(16):
        plaintexts[f"obj-{i:02d}"] = os.urandom(200_000 + i)
        ciphertext, md = legacy.v1_aes_cbc(keys.old_key, plaintexts[f"obj-{i:02d}"])
        s3.put_object(Bucket=bucket, Key=f"{key_name}/obj-{i:02d}", Body=ciphertext, Metadata=md)
    url = f"s3://{bucket}/{key_name}"
    env = {k: v for k, v in os.environ.items() if k != "S3CSE_DEBUG"}
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "s3cse.cli",
            "migrate",
            url,
            "--legacy",
            "--aes-key-file",
            str(keys.old),
            "--concurrency",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert worker.stderr is not None
    first = worker.stderr.readline().decode()
    worker.kill()  # without warning, mid-run
    worker.wait(timeout=10)
    worker.stderr.close()
    assert first.startswith(f"migrated: {url}/obj-"), first
    still_v1 = [
        k
        for k in plaintexts
        if "x-amz-key" in s3.head_object(Bucket=bucket, Key=f"{key_name}/{k}")["Metadata"]
    ]
    assert still_v1, "the first run was not interrupted"

    rerun = run("migrate", url, "--legacy", "--aes-key-file", keys.old, "--json")
    assert rerun.returncode == 0, err(rerun)
    summary = json_lines(rerun)[-1]
    assert summary["failed"] == 0 and summary["total"] == len(plaintexts)
    assert summary["summary"].get("migrated", 0) >= len(still_v1)
    assert_all_v3(s3, keys.old_key, bucket, key_name, plaintexts)  # and no temporary keys
    assert not [k for k in listed(s3, bucket, key_name) if ".s3cse-migrating" in k]


def test_ctrl_c_stops_a_migration_promptly(
    keys: KeyFiles, s3: Any, bucket: str, key_name: str
) -> None:
    for i in range(16):
        ciphertext, md = legacy.v1_aes_cbc(keys.old_key, os.urandom(200_000))
        s3.put_object(Bucket=bucket, Key=f"{key_name}/obj-{i:02d}", Body=ciphertext, Metadata=md)
    env = {k: v for k, v in os.environ.items() if k != "S3CSE_DEBUG"}
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "s3cse.cli",
            "migrate",
            f"s3://{bucket}/{key_name}",
            "--legacy",
            "--aes-key-file",
            str(keys.old),
            "--concurrency",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert worker.stderr is not None
    assert worker.stderr.readline().startswith(b"migrated: ")
    worker.send_signal(signal.SIGINT)
    assert worker.wait(timeout=20) == 130
    rest = worker.stderr.read().decode()
    worker.stderr.close()
    assert rest.strip().splitlines()[-1] == "s3cse: interrupted"
    assert "Traceback" not in rest
    done = [
        i
        for i in range(16)
        if "x-amz-3" in s3.head_object(Bucket=bucket, Key=f"{key_name}/obj-{i:02d}")["Metadata"]
    ]
    assert len(done) < 8, "the objects not yet started should have been dropped"
    assert not [k for k in listed(s3, bucket, key_name) if ".s3cse-migrating" in k]


def test_migrate_on_a_dask_cluster(keys: KeyFiles, s3: Any, bucket: str, key_name: str) -> None:
    from distributed import LocalCluster

    plaintexts = legacy_tree(s3, keys, bucket, key_name)
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
    ) as cluster:
        result = run(
            "migrate",
            f"s3://{bucket}/{key_name}",
            "--legacy",
            "--aes-key-file",
            keys.old,
            "--dask",
            cluster.scheduler_address,
            "--json",
        )
    assert result.returncode == 0, err(result)
    assert json_lines(result)[-1]["summary"] == {"migrated": 2, "skipped": 1}
    assert_all_v3(s3, keys.old_key, bucket, key_name, plaintexts)


def test_dask_scheduler_that_is_not_there(keys: KeyFiles, bucket: str, stack: Any) -> None:
    import socket

    with socket.socket() as sock:  # a free port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    aes_client_put = run(
        "migrate",
        f"s3://{bucket}/nothing-{uuid.uuid4().hex}",
        "--aes-key-file",
        keys.old,
        "--dask",
        f"tcp://127.0.0.1:{port}",
    )
    assert_clean_error(aes_client_put, 1, "Dask scheduler")


# ---------------------------------------------------------------------------- cp --recursive, ls


@dataclass(frozen=True)
class Tree:
    url: str
    prefix: str
    files: dict[str, bytes]
    upload: Any


@pytest.fixture(scope="module")
def tree(keys: KeyFiles, bucket: str, tmp_path_factory: pytest.TempPathFactory, stack: Any) -> Tree:
    """A directory uploaded with ``cp --recursive`` (with instruction files and indexes)."""
    root = tmp_path_factory.mktemp("tree") / "data"
    files = {
        "a.txt": b"hello\n",
        "empty.bin": b"",
        "sub/b.bin": os.urandom(70_001),
        "sub/deeper/c.csv": b"x,y\n1,2\n",
    }
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    prefix = f"cli-tree-{uuid.uuid4().hex[:8]}"
    url = f"s3://{bucket}/{prefix}"
    upload = run(
        "cp",
        "--recursive",
        root,
        url,
        "--aes-key-file",
        keys.old,
        "--instruction-file",
        "--integrity-index",
    )
    return Tree(url, prefix, files, upload)


def test_cp_recursive_upload(tree: Tree, s3: Any, bucket: str) -> None:
    assert tree.upload.returncode == 0, err(tree.upload)
    lines = sorted(tree.upload.stdout.decode().splitlines())
    assert len(lines) == len(tree.files)
    assert all(line.startswith("upload: ") for line in lines)
    assert f" to {tree.url}/sub/deeper/c.csv" in "\n".join(lines)
    expected = set()
    for name in tree.files:
        expected |= {
            f"{tree.prefix}/{name}{suffix}" for suffix in ("", ".instruction", ".s3cse-index")
        }
    assert set(listed(s3, bucket, tree.prefix)) == expected
    for name, data in tree.files.items():
        assert (
            s3.head_object(Bucket=bucket, Key=f"{tree.prefix}/{name}")["ContentLength"]
            == len(data) + 16
        )


def test_ls_shows_plaintext_sizes_and_hides_sidecars(tree: Tree) -> None:
    top = run("ls", f"{tree.url}/")
    assert top.returncode == 0, err(top)
    rows = top.stdout.decode().splitlines()
    assert len(rows) == 3, rows  # a.txt, empty.bin, PRE sub/
    assert rows[0].split() == ["PRE", "sub/"]
    assert rows[1].split()[2:] == ["6", "a.txt"]
    assert rows[2].split()[2:] == ["0", "empty.bin"]

    deep = run("ls", "--recursive", tree.url)
    assert deep.returncode == 0, err(deep)
    names = {row.split()[-1]: int(row.split()[2]) for row in deep.stdout.decode().splitlines()}
    assert names == {f"{tree.prefix}/{n}": len(d) for n, d in tree.files.items()}

    exact = run("ls", "-r", "--exact", f"{tree.url}/sub/")
    assert exact.returncode == 0, err(exact)
    rows = exact.stdout.decode().splitlines()
    assert len(rows) == 2
    for row, name in zip(rows, ("sub/b.bin", "sub/deeper/c.csv"), strict=True):
        cells = row.split()
        assert cells[2:5] == [str(len(tree.files[name])), "V3", "AES/GCM"]
        assert cells[-1] == f"{tree.prefix}/{name}"

    as_json = run("ls", "-r", "--exact", "--json", tree.url)
    assert as_json.returncode == 0, err(as_json)
    entries = {entry["key"]: entry for entry in json_lines(as_json)}
    assert set(entries) == {f"{tree.prefix}/{n}" for n in tree.files}
    b = entries[f"{tree.prefix}/sub/b.bin"]
    assert b["size"] == 70_001 and b["stored_size"] == 70_017
    assert b["size_source"] == "exact" and b["format"] == "V3"
    assert b["wrapping"] == "AES/GCM" and b["instruction_file"] is True
    assert b["key_commitment"] is True
    assert "T" in b["last_modified"]
    quick = json_lines(run("ls", "--json", f"{tree.url}/"))
    assert {"prefix": f"{tree.prefix}/sub/"} in quick
    assert {e.get("size_source") for e in quick if "key" in e} == {"assumed-gcm"}


def test_ls_exact_shows_kms_context_keys_and_plain_objects(
    s3: Any, kms: Any, kms_key_id: str, bucket: str, key_name: str
) -> None:
    EncryptionClient(KmsKeyring(kms_key_id, kms_client=kms), s3_client=s3).put_object(
        Bucket=bucket, Key=f"{key_name}/k", Body=b"12345", EncryptionContext={"dept": "x"}
    )
    s3.put_object(Bucket=bucket, Key=f"{key_name}/plain", Body=b"not encrypted at all")
    s3.put_object(Bucket=bucket, Key=f"{key_name}/orphan.instruction", Body=b"{}")
    result = run("ls", "--exact", f"s3://{bucket}/{key_name}/")
    assert result.returncode == 0, err(result)
    rows = {row.split()[-1]: row.split()[2:-1] for row in result.stdout.decode().splitlines()}
    assert rows["k"] == ["5", "V3", "kms+context", "context:dept"]
    assert rows["plain"] == ["20", "plain", "-"]
    assert rows["orphan.instruction"][1] == "plain"  # no object of its own: shown


def test_cp_recursive_download(tree: Tree, keys: KeyFiles, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run("cp", "-r", tree.url, out, "--aes-key-file", keys.old, "--concurrency", "3")
    assert result.returncode == 0, err(result)
    got = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert got == tree.files
    assert len(result.stdout.decode().splitlines()) == len(tree.files)


def test_cp_recursive_s3_to_s3_reencrypts(
    tree: Tree, keys: KeyFiles, s3: Any, bucket: str, key_name: str
) -> None:
    result = run(
        "cp", "-r", f"{tree.url}/sub", f"s3://{bucket}/{key_name}/copy", "--aes-key-file", keys.old
    )
    assert result.returncode == 0, err(result)
    assert sorted(listed(s3, bucket, key_name)) == [
        f"{key_name}/copy/b.bin",
        f"{key_name}/copy/b.bin.s3cse-index",
        f"{key_name}/copy/deeper/c.csv",
        f"{key_name}/copy/deeper/c.csv.s3cse-index",
    ]
    reader = aes_client(s3, keys.old_key)
    for name in ("b.bin", "deeper/c.csv"):
        original = s3.get_object(Bucket=bucket, Key=f"{tree.prefix}/sub/{name}")
        copy = s3.get_object(Bucket=bucket, Key=f"{key_name}/copy/{name}")
        assert original["Body"].read() != copy["Body"].read()  # a fresh data key
        assert "x-amz-3" in copy["Metadata"]  # and no instruction file: not asked for
        assert read(reader, bucket, f"{key_name}/copy/{name}") == tree.files[f"sub/{name}"]
    # the copy's integrity index authenticates ranged reads
    assert (
        read(reader, bucket, f"{key_name}/copy/b.bin", Range="bytes=100-199")
        == tree.files["sub/b.bin"][100:200]
    )


def test_cp_recursive_with_a_tampered_object(
    keys: KeyFiles, s3: Any, bucket: str, key_name: str, tmp_path: Path
) -> None:
    writer = aes_client(s3, keys.old_key)
    for name in ("good-1", "bad", "good-2"):
        writer.put_object(Bucket=bucket, Key=f"{key_name}/{name}", Body=name.encode() * 100)
    obj = s3.get_object(Bucket=bucket, Key=f"{key_name}/bad")
    stored = bytearray(obj["Body"].read())
    stored[10] ^= 1
    s3.put_object(
        Bucket=bucket, Key=f"{key_name}/bad", Body=bytes(stored), Metadata=obj["Metadata"]
    )
    out = tmp_path / "out"
    result = run("cp", "-r", f"s3://{bucket}/{key_name}", out, "--aes-key-file", keys.old)
    assert result.returncode == 3, err(result)
    assert "Traceback" not in err(result)
    lines = stderr_lines(result)
    assert len(lines) == 2 and f"s3://{bucket}/{key_name}/bad" in lines[0], lines
    assert lines[-1] == "s3cse: error: 1 of 3 objects failed"
    assert sorted(os.listdir(out)) == ["good-1", "good-2"]  # nothing left for "bad"


def test_cp_recursive_errors(keys: KeyFiles, bucket: str, tmp_path: Path, stack: Any) -> None:
    (tmp_path / "file").write_bytes(b"x")
    not_a_dir = run("cp", "-r", tmp_path / "file", f"s3://{bucket}/p", "--aes-key-file", keys.old)
    assert_clean_error(not_a_dir, 2, "not a directory")
    both_local = run("cp", "-r", tmp_path, tmp_path / "o", "--aes-key-file", keys.old)
    assert_clean_error(both_local, 2, "s3://")
    cache_v2 = run(
        "cp",
        "-r",
        tmp_path,
        f"s3://{bucket}/p",
        "--aes-key-file",
        keys.old,
        "--cache-data-keys",
        "--format",
        "v2",
    )
    assert_clean_error(cache_v2, 2, "--cache-data-keys")
    no_bucket = run(
        "cp", "-r", "s3://s3cse-no-such-bucket/p", tmp_path / "o", "--aes-key-file", keys.old
    )
    assert_clean_error(no_bucket, 4, "no such bucket")


def test_cp_recursive_caches_data_keys(
    s3: Any, kms: Any, kms_key_id: str, bucket: str, key_name: str, tmp_path: Path
) -> None:
    files = {f"f{i}": os.urandom(100 + i) for i in range(6)}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    url = f"s3://{bucket}/{key_name}"
    result = run(
        "cp",
        "-r",
        tmp_path,
        url,
        "--kms-key-id",
        kms_key_id,
        *CONTEXT_ARGS,
        "--cache-data-keys",
        "--quiet",
    )
    assert result.returncode == 0, err(result)
    assert result.stdout == b""
    heads = [s3.head_object(Bucket=bucket, Key=f"{key_name}/{n}")["Metadata"] for n in files]
    assert len({h["x-amz-3"] for h in heads}) == 1  # one wrapped data key for all
    assert len({h["x-amz-i"] for h in heads}) == len(files)  # each its own content key
    reader = EncryptionClient(KmsKeyring(kms_key_id, kms_client=kms), s3_client=s3)
    for name, data in files.items():
        assert (
            read(reader, bucket, f"{key_name}/{name}", EncryptionContext={"dept": "finance"})
            == data
        )


# ---------------------------------------------------------------------------- cat, rm


def test_cat_decrypts_and_authenticates(
    keys: KeyFiles, s3: Any, bucket: str, key_name: str
) -> None:
    writer = aes_client(s3, keys.old_key)
    one, two = os.urandom(40_000), os.urandom(17)
    writer.put_object(Bucket=bucket, Key=f"{key_name}/one", Body=one)
    writer.put_object(Bucket=bucket, Key=f"{key_name}/two", Body=two)
    url = f"s3://{bucket}/{key_name}"
    both = run("cat", f"{url}/one", f"{url}/two", "--aes-key-file", keys.old)
    assert both.returncode == 0, err(both)
    assert both.stdout == one + two and err(both) == ""

    obj = s3.get_object(Bucket=bucket, Key=f"{key_name}/one")
    stored = bytearray(obj["Body"].read())
    stored[-1] ^= 1
    s3.put_object(
        Bucket=bucket, Key=f"{key_name}/one", Body=bytes(stored), Metadata=obj["Metadata"]
    )
    tampered = run("cat", f"{url}/one", "--aes-key-file", keys.old)
    assert_clean_error(tampered, 3, f"{url}/one")
    assert tampered.stdout == b""  # nothing unauthenticated released
    assert_clean_error(run("cat", f"{url}/absent", "--aes-key-file", keys.old), 4, "no such object")
    assert_clean_error(
        run("cat", f"s3://{bucket}", "--aes-key-file", keys.old), 2, "s3://BUCKET/KEY"
    )


def test_rm_deletes_sidecars(keys: KeyFiles, s3: Any, bucket: str, key_name: str) -> None:
    writer = aes_client(s3, keys.old_key, instruction_file=True, integrity_index=True)
    for name in ("one", "dir/two", "dir/deeper/three"):
        writer.put_object(Bucket=bucket, Key=f"{key_name}/{name}", Body=b"x" * 100)
    s3.put_object(Bucket=bucket, Key=f"{key_name}-sibling", Body=b"not under the prefix")
    url = f"s3://{bucket}/{key_name}"
    assert len(listed(s3, bucket, f"{key_name}/")) == 9

    single = run("rm", f"{url}/one")
    assert single.returncode == 0, err(single)
    assert single.stdout.decode().strip() == f"delete: {url}/one"
    assert len(listed(s3, bucket, f"{key_name}/")) == 6

    assert_clean_error(run("rm", f"{url}/one"), 4, "no such object")
    assert_clean_error(run("rm", f"{url}/dir/"), 2, "--recursive")

    dry = run("rm", "-r", "--dry-run", f"{url}/dir")
    assert dry.returncode == 0, err(dry)
    assert sorted(dry.stdout.decode().splitlines()) == [
        f"(dryrun) delete: {url}/dir/deeper/three",
        f"(dryrun) delete: {url}/dir/two",
    ]
    assert len(listed(s3, bucket, f"{key_name}/")) == 6

    recursive = run("rm", "--recursive", url)
    assert recursive.returncode == 0, err(recursive)
    assert len(recursive.stdout.decode().splitlines()) == 2  # objects, not their sidecars
    assert listed(s3, bucket, f"{key_name}/") == []
    assert listed(s3, bucket, f"{key_name}-sibling") == [f"{key_name}-sibling"]


# ---------------------------------------------------------------------------- SSE


def test_sse_s3_on_top_of_cse(
    keys: KeyFiles, s3: Any, bucket: str, key_name: str, tmp_path: Path
) -> None:
    (tmp_path / "f").write_bytes(b"data" * 100)
    url = f"s3://{bucket}/{key_name}/f"
    up = run(
        "cp",
        tmp_path / "f",
        url,
        "--aes-key-file",
        keys.old,
        "--sse",
        "AES256",
        "--instruction-file",
    )
    assert up.returncode == 0, err(up)
    for name in (f"{key_name}/f", f"{key_name}/f.instruction"):
        assert s3.head_object(Bucket=bucket, Key=name)["ServerSideEncryption"] == "AES256"
    assert "x-amz-c" in s3.head_object(Bucket=bucket, Key=f"{key_name}/f")["Metadata"]
    info = json.loads(run("inspect", url, "--json").stdout)
    assert info["server_side_encryption"] == "AES256" and info["format"] == "V3"

    assert_clean_error(
        run("cp", tmp_path / "f", url, "--aes-key-file", keys.old, "--sse-kms-key-id", "k"),
        2,
        "--sse aws:kms",
    )
    assert_clean_error(
        run(
            "cp",
            tmp_path / "f",
            url,
            "--aes-key-file",
            keys.old,
            "--sse",
            "AES256",
            "--sse-c-key-file",
            keys.sse_c,
        ),
        2,
        "--sse",
    )


def test_sse_c_round_trip(
    keys: KeyFiles, s3: Any, bucket: str, key_name: str, tmp_path: Path
) -> None:
    data = os.urandom(50_000)
    (tmp_path / "f").write_bytes(data)
    url = f"s3://{bucket}/{key_name}/f"
    sse_c = ["--sse-c-key-file", keys.sse_c]
    up = run(
        "cp",
        tmp_path / "f",
        url,
        "--aes-key-file",
        keys.old,
        *sse_c,
        "--instruction-file",
        "--integrity-index",
    )
    assert up.returncode == 0, err(up)
    customer = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": keys.sse_c.read_bytes()}
    for name in (f"{key_name}/f", f"{key_name}/f.instruction", f"{key_name}/f.s3cse-index"):
        with pytest.raises(s3.exceptions.ClientError):
            s3.head_object(Bucket=bucket, Key=name)  # S3 wants the customer key
        assert (
            s3.head_object(Bucket=bucket, Key=name, **customer)["SSECustomerAlgorithm"] == "AES256"
        )

    back = run("cat", url, "--aes-key-file", keys.old, *sse_c)
    assert back.returncode == 0, err(back)
    assert back.stdout == data
    out = tmp_path / "out.bin"
    down = run("cp", url, out, "--aes-key-file", keys.old, *sse_c)
    assert down.returncode == 0, err(down)
    assert out.read_bytes() == data

    for command in (["cat", url], ["cp", url, out.with_name("no.bin")]):
        refused = run(*command, "--aes-key-file", keys.old)
        assert_clean_error(refused, 1, url, "--sse-c-key-file")
        assert refused.stdout == b""
    assert not out.with_name("no.bin").exists()
    wrong = run("cat", url, "--aes-key-file", keys.old, "--sse-c-key-file", keys.new)
    assert_clean_error(wrong, 1, "SSE-C key")

    listing = run("ls", "--exact", f"s3://{bucket}/{key_name}/", *sse_c)
    assert listing.returncode == 0, err(listing)
    assert listing.stdout.decode().split()[2:4] == ["50000", "V3"]

    copy_url = f"s3://{bucket}/{key_name}/copy"
    copied = run(
        "cp",
        url,
        copy_url,
        "--aes-key-file",
        keys.old,
        "--sse-c-copy-source-key-file",
        keys.sse_c,
        "--sse",
        "AES256",
    )
    assert copied.returncode == 0, err(copied)
    assert s3.head_object(Bucket=bucket, Key=f"{key_name}/copy")["ServerSideEncryption"] == "AES256"
    assert read(aes_client(s3, keys.old_key), bucket, f"{key_name}/copy") == data

    assert_clean_error(
        run("cat", url, "--aes-key-file", keys.old, "--sse-c-key-file", tmp_path / "f"),
        2,
        "SSE-C key file",
    )


def test_sse_kms_arguments() -> None:
    """The local S3 has no SSE-KMS: check what would be sent."""
    from s3cse.cli.options import Sse

    sse = Sse.from_options({"sse": "aws:kms", "sse_kms_key_id": "alias/s3"})
    assert sse.put_args() == {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "alias/s3"}
    assert sse.get_args() == {}


# ---------------------------------------------------------------------------- the command


def test_help_documents_exit_codes_and_commands() -> None:
    result = run("--help")
    assert result.returncode == 0
    text = result.stdout.decode()
    for fragment in (
        "Exit codes:",
        "0  success",
        "2  bad usage",
        "3  an object failed authentication",
        "4  no such object or bucket",
        "--debug",
    ):
        assert fragment in text
    for command in ("cat", "cp", "inspect", "ls", "migrate", "rm", "rotate"):
        assert f"  {command} " in text


def test_debug_flag_prints_a_traceback(keys: KeyFiles, bucket: str, stack: Any) -> None:
    url = f"s3://{bucket}/absent-{uuid.uuid4().hex}"
    plain = run("cat", url, "--aes-key-file", keys.old)
    assert_clean_error(plain, 4, "no such object")
    debug = run("--debug", "cat", url, "--aes-key-file", keys.old)
    assert debug.returncode == 4
    assert err(debug).startswith("s3cse: error: download: no such object")
    assert "Traceback" in err(debug)


def test_unreachable_endpoint_is_one_line(keys: KeyFiles, tmp_path: Path) -> None:
    start = time.monotonic()
    result = run("ls", "s3://any-bucket/", "--endpoint-url", "http://127.0.0.1:9")
    assert result.returncode == 1
    assert "Traceback" not in err(result)
    assert len(stderr_lines(result)) == 1 and "s3cse: error:" in err(result)
    assert time.monotonic() - start < 30
