"""Key rotation and legacy migration in bulk, over real S3 and KMS."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from s3cse import EncryptionClient, KmsKeyring
from s3cse import errors as e
from s3cse.lifecycle import Job, KeySpec, list_keys, run

from .. import legacy
from ..keys import aes_key, aes_keyring

pytestmark = pytest.mark.integration


@pytest.fixture
def key_files(tmp_path: Path) -> dict[str, str]:
    paths = {}
    for name, index in (("old", 0), ("new", 1)):
        path = tmp_path / f"{name}.key"
        path.write_bytes(aes_key(index))
        paths[name] = str(path)
    return paths


def test_rotate_aes_to_new_aes_and_to_kms_keeps_everything_else(
    s3: Any, kms: Any, kms_key_id: str, bucket: str, key_name: str, key_files: dict[str, str]
) -> None:
    writer = EncryptionClient(aes_keyring(0), s3_client=s3)
    writer.put_object(
        Bucket=bucket,
        Key=f"{key_name}/meta",
        Body=b"one",
        ContentType="text/x",
        Metadata={"owner": "ops"},
        Tagging="tier=gold",
        ServerSideEncryption="AES256",
    )
    EncryptionClient(aes_keyring(0), s3_client=s3, instruction_file=True).put_object(
        Bucket=bucket, Key=f"{key_name}/instr", Body=b"two"
    )
    stored_before = s3.get_object(Bucket=bucket, Key=f"{key_name}/meta")["Body"].read()
    job = Job(
        "rotate",
        bucket,
        key_name,
        KeySpec(aes_key_file=key_files["old"]),
        KeySpec(aes_key_file=key_files["new"]),
    )
    summary = run(job)
    assert summary.counts() == {"rotated": 2}
    new_reader = EncryptionClient(aes_keyring(1), s3_client=s3)
    assert new_reader.get_object(Bucket=bucket, Key=f"{key_name}/meta")["Body"].read() == b"one"
    assert new_reader.get_object(Bucket=bucket, Key=f"{key_name}/instr")["Body"].read() == b"two"
    with pytest.raises(e.KeyUnwrapError):
        writer.get_object(Bucket=bucket, Key=f"{key_name}/meta")
    head = s3.head_object(Bucket=bucket, Key=f"{key_name}/meta")
    assert head["ContentType"] == "text/x" and head["Metadata"]["owner"] == "ops"
    assert head["ServerSideEncryption"] == "AES256"
    assert s3.get_object_tagging(Bucket=bucket, Key=f"{key_name}/meta")["TagSet"] == [
        {"Key": "tier", "Value": "gold"}
    ]
    # the content was not rewritten: same ciphertext bytes
    assert s3.get_object(Bucket=bucket, Key=f"{key_name}/meta")["Body"].read() == stored_before
    assert run(job).counts() == {"skipped": 2}  # idempotent
    to_kms = Job(
        "rotate",
        bucket,
        key_name,
        KeySpec(aes_key_file=key_files["new"]),
        KeySpec(kms_key_id=kms_key_id),
    )
    assert run(to_kms).counts() == {"rotated": 2}
    kms_reader = EncryptionClient(KmsKeyring(kms_key_id, kms_client=kms), s3_client=s3)
    assert kms_reader.get_object(Bucket=bucket, Key=f"{key_name}/meta")["Body"].read() == b"one"


def test_dry_run_changes_nothing(
    s3: Any, bucket: str, key_name: str, key_files: dict[str, str]
) -> None:
    EncryptionClient(aes_keyring(0), s3_client=s3).put_object(
        Bucket=bucket, Key=f"{key_name}/a", Body=b"a"
    )
    before = s3.head_object(Bucket=bucket, Key=f"{key_name}/a")["Metadata"]
    job = Job(
        "rotate",
        bucket,
        key_name,
        KeySpec(aes_key_file=key_files["old"]),
        KeySpec(aes_key_file=key_files["new"]),
        dry_run=True,
    )
    assert run(job).counts() == {"would-rotate": 1}
    assert s3.head_object(Bucket=bucket, Key=f"{key_name}/a")["Metadata"] == before


def test_rotate_reports_objects_it_cannot_open(
    s3: Any, bucket: str, key_name: str, key_files: dict[str, str]
) -> None:
    EncryptionClient(aes_keyring(2), s3_client=s3).put_object(
        Bucket=bucket, Key=f"{key_name}/stranger", Body=b"?"
    )
    job = Job(
        "rotate",
        bucket,
        key_name,
        KeySpec(aes_key_file=key_files["old"]),
        KeySpec(aes_key_file=key_files["new"]),
    )
    summary = run(job)
    assert [r.action for r in summary.results] == ["failed"]
    assert "no AES key" in summary.results[0].detail


def legacy_migration(bucket: str, prefix: str, key_file: str) -> Job:
    """Migration of objects known to be legacy: legacy reads are asked for."""
    return Job("migrate", bucket, prefix, KeySpec(aes_key_file=key_file), legacy=True)


def legacy_objects(
    s3: Any, kms: Any, kms_key_id: str, bucket: str, prefix: str
) -> dict[str, bytes]:
    plaintexts = {}
    builders = {
        "v1-cbc": lambda p: legacy.v1_aes_cbc(aes_key(0), p),
        "v2-aeswrap-cbc": lambda p: legacy.v2_aeswrap_cbc(aes_key(0), p),
        "v2-aeswrap-gcm": lambda p: legacy.v2_aeswrap_gcm(aes_key(0), p),
    }
    for name, build in builders.items():
        plaintext = os.urandom(5000)
        ciphertext, md = build(plaintext)
        s3.put_object(
            Bucket=bucket,
            Key=f"{prefix}/{name}",
            Body=ciphertext,
            Metadata=md,
            ContentType="application/x-legacy",
        )
        plaintexts[name] = plaintext
    v2 = os.urandom(3000)
    EncryptionClient(aes_keyring(0), s3_client=s3, format="v2").put_object(
        Bucket=bucket, Key=f"{prefix}/v2-gcm", Body=v2
    )
    plaintexts["v2-gcm"] = v2
    v3 = os.urandom(100)
    EncryptionClient(aes_keyring(0), s3_client=s3).put_object(
        Bucket=bucket, Key=f"{prefix}/already-v3", Body=v3
    )
    plaintexts["already-v3"] = v3
    return plaintexts


def assert_all_v3(s3: Any, bucket: str, prefix: str, plaintexts: dict[str, bytes]) -> None:
    reader = EncryptionClient(aes_keyring(0), s3_client=s3)  # strict: V3 only
    for name, plaintext in plaintexts.items():
        assert (
            reader.get_object(Bucket=bucket, Key=f"{prefix}/{name}")["Body"].read() == plaintext
        ), name
        assert "x-amz-3" in s3.head_object(Bucket=bucket, Key=f"{prefix}/{name}")["Metadata"]
    listed = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]}
    assert listed == {f"{prefix}/{name}" for name in plaintexts}  # no temporary keys left


def test_migrate_legacy_objects_to_v3(
    s3: Any, kms: Any, kms_key_id: str, bucket: str, key_name: str, key_files: dict[str, str]
) -> None:
    plaintexts = legacy_objects(s3, kms, kms_key_id, bucket, key_name)
    v3_before = s3.get_object(Bucket=bucket, Key=f"{key_name}/already-v3")["Body"].read()
    job = legacy_migration(bucket, key_name, key_files["old"])
    summary = run(job)
    assert summary.counts() == {"migrated": 4, "skipped": 1}
    assert_all_v3(s3, bucket, key_name, plaintexts)
    assert (
        s3.head_object(Bucket=bucket, Key=f"{key_name}/v1-cbc")["ContentType"]
        == "application/x-legacy"
    )
    # the V3 object was not encrypted twice
    assert s3.get_object(Bucket=bucket, Key=f"{key_name}/already-v3")["Body"].read() == v3_before
    assert run(job).counts() == {"skipped": 5}


def test_migrate_in_a_versioned_bucket_keeps_the_old_version(
    s3: Any, key_files: dict[str, str], key_name: str
) -> None:
    bucket = "s3cse-versioned"
    if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    ciphertext, md = legacy.v1_aes_cbc(aes_key(0), b"old bytes")
    s3.put_object(Bucket=bucket, Key=key_name, Body=ciphertext, Metadata=md)
    run(legacy_migration(bucket, key_name, key_files["old"]))
    versions = s3.list_object_versions(Bucket=bucket, Prefix=key_name).get("Versions", [])
    mine = [v for v in versions if v["Key"] == key_name]
    assert len(mine) == 2
    oldest = next(v for v in mine if not v["IsLatest"])
    old = s3.get_object(Bucket=bucket, Key=key_name, VersionId=oldest["VersionId"])
    assert old["Body"].read() == ciphertext


WORKER = """
import sys, time
from s3cse.lifecycle import Job, KeySpec, run
job = Job("migrate", sys.argv[1], sys.argv[2], KeySpec(aes_key_file=sys.argv[3]), legacy=True)
run(job, concurrency=1, on_result=lambda r: (print(r.key, r.action, flush=True), time.sleep(0.3)))
"""


def test_interrupted_migration_finishes_on_the_next_run(
    s3: Any, kms: Any, kms_key_id: str, bucket: str, key_name: str, key_files: dict[str, str]
) -> None:
    plaintexts = legacy_objects(s3, kms, kms_key_id, bucket, key_name)
    for i in range(6):
        ciphertext, md = legacy.v1_aes_cbc(aes_key(0), b"%d" % i * 1000)
        s3.put_object(Bucket=bucket, Key=f"{key_name}/extra-{i}", Body=ciphertext, Metadata=md)
        plaintexts[f"extra-{i}"] = b"%d" % i * 1000
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, bucket, key_name, key_files["old"]],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    assert worker.stdout is not None
    done = [worker.stdout.readline() for _ in range(3)]
    worker.kill()  # mid-run, without warning
    worker.wait()
    assert all(line.strip() for line in done)
    time.sleep(0.2)
    summary = run(legacy_migration(bucket, key_name, key_files["old"]))
    assert not summary.failed
    assert_all_v3(s3, bucket, key_name, plaintexts)


def test_migrate_on_a_dask_cluster_of_processes(
    s3: Any, kms: Any, kms_key_id: str, bucket: str, key_name: str, key_files: dict[str, str]
) -> None:
    from distributed import LocalCluster

    plaintexts = legacy_objects(s3, kms, kms_key_id, bucket, key_name)
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
    ) as cluster:
        summary = run(
            legacy_migration(bucket, key_name, key_files["old"]),
            dask_address=cluster.scheduler_address,
        )
    assert summary.counts() == {"migrated": 4, "skipped": 1}
    assert_all_v3(s3, bucket, key_name, plaintexts)


def test_sidecars_and_temporary_keys_are_not_listed(
    s3: Any, bucket: str, key_name: str, key_files: dict[str, str]
) -> None:
    EncryptionClient(
        aes_keyring(0), s3_client=s3, instruction_file=True, integrity_index=True
    ).put_object(Bucket=bucket, Key=f"{key_name}/x", Body=b"x")
    s3.put_object(Bucket=bucket, Key=f"{key_name}/y.s3cse-migrating", Body=b"partial")
    job = legacy_migration(bucket, key_name, key_files["old"])
    assert list(list_keys(job, s3)) == [f"{key_name}/x"]
