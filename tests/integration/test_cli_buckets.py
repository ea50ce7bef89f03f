"""``s3cse mb``/``rb``, ``presign`` and ``ls --human-readable --summarize``, run for real
in a subprocess against the local stack (SeaweedFS; moto's S3 where SeaweedFS lacks
what is tested: bucket locations, versioning)."""

from __future__ import annotations

import json
import os
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from s3cse import AesKeyring, EncryptionClient

from .. import legacy
from .test_cli import assert_clean_error, err, run

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def aes_key_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    key = os.urandom(32)
    path = tmp_path_factory.mktemp("bucket-keys") / "aes.key"
    path.write_bytes(key)
    return path, key


def fresh_bucket() -> str:
    return f"s3cse-b-{uuid.uuid4().hex[:12]}"


def bucket_names(s3: Any) -> set[str]:
    return {b["Name"] for b in s3.list_buckets().get("Buckets", [])}


def stored(s3: Any, bucket: str) -> dict[str, str]:
    """Every key in the bucket (sidecars included) with its ETag."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {item["Key"]: item["ETag"] for page in pages for item in page.get("Contents", [])}


def out(result: Any) -> list[str]:
    return result.stdout.decode().splitlines()


@pytest.fixture
def filled_bucket(
    s3: Any, aes_key_file: tuple[Path, bytes], tmp_path: Path
) -> tuple[str, dict[str, str]]:
    """A fresh bucket with two encrypted objects, one with an instruction file and an
    integrity index, one under a "directory"; and every key it stores with its ETag."""
    name = fresh_bucket()
    s3.create_bucket(Bucket=name)
    source = tmp_path / "plain.txt"
    source.write_bytes(b"secret " * 100)
    key_file = aes_key_file[0]
    first = run(
        "cp", source, f"s3://{name}/a.txt", "--aes-key-file", key_file,
        "--instruction-file", "--integrity-index",
    )  # fmt: skip
    second = run("cp", source, f"s3://{name}/dir/b.txt", "--aes-key-file", key_file)
    assert first.returncode == 0 and second.returncode == 0, err(first) + err(second)
    before = stored(s3, name)
    assert set(before) == {"a.txt", "a.txt.instruction", "a.txt.s3cse-index", "dir/b.txt"}
    return name, before


# ---------------------------------------------------------------------------- mb / rb


def test_mb_then_rb_round_trip(s3: Any) -> None:
    name = fresh_bucket()
    made = run("mb", f"s3://{name}")
    assert made.returncode == 0, err(made)
    assert out(made) == [f"make_bucket: {name}"]
    assert name in bucket_names(s3)
    assert s3.list_objects_v2(Bucket=name)["KeyCount"] == 0

    again = run("mb", f"s3://{name}")
    assert_clean_error(again, 1, "make_bucket failed", "already own", name)

    removed = run("rb", f"s3://{name}")
    assert removed.returncode == 0, err(removed)
    assert out(removed) == [f"remove_bucket: {name}"]
    assert name not in bucket_names(s3)


def test_mb_dryrun_and_quiet_rb(s3: Any) -> None:
    name = fresh_bucket()
    dry = run("mb", f"s3://{name}", "--dryrun")
    assert dry.returncode == 0 and out(dry) == [f"(dryrun) make_bucket: {name}"]
    assert name not in bucket_names(s3)
    made = run("mb", f"s3://{name}", "--quiet")
    assert made.returncode == 0 and out(made) == [] and name in bucket_names(s3)
    removed = run("rb", f"s3://{name}", "-q")
    assert removed.returncode == 0 and out(removed) == [] and err(removed) == ""
    assert name not in bucket_names(s3)


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("ab", "3 to 63 characters"),
        ("Upper-case", "lowercase"),
        ("under_score", "lowercase"),
        ("-starts-with-dash", "beginning and ending"),
        ("two..dots", "two dots"),
        ("192.168.10.20", "IP address"),
        ("xn--reserved", "reserved"),
        ("name-s3alias", "reserved"),
    ],
)
def test_mb_refuses_an_invalid_name_before_any_request(name: str, rule: str, s3: Any) -> None:
    assert_clean_error(run("mb", f"s3://{name}"), 2, "invalid bucket name", rule)
    assert name not in bucket_names(s3)


@pytest.mark.parametrize("url", ["s3://", "s3:///key", "bucket-only", "s3://some-bucket/a-key"])
def test_mb_and_rb_take_a_bucket_url_only(url: str) -> None:
    for command in ("mb", "rb"):
        assert_clean_error(run(command, url), 2, command)


@pytest.mark.parametrize(("region", "expected"), [("eu-west-1", "eu-west-1"), ("us-east-1", None)])
def test_mb_region_sets_the_location_constraint(
    region: str, expected: str | None, stack: Any, moto_s3: Any
) -> None:
    name = fresh_bucket()
    result = run("mb", f"s3://{name}", "--region", region, "--endpoint-url", stack.moto_s3_endpoint)
    assert result.returncode == 0, err(result)
    assert moto_s3.get_bucket_location(Bucket=name).get("LocationConstraint") == expected


def test_mb_explains_a_name_taken_by_another_account() -> None:
    from botocore.exceptions import ClientError

    from s3cse.cli.buckets import _make_bucket_error

    answer = {"Error": {"Code": "BucketAlreadyExists", "Message": "taken"}}
    error = _make_bucket_error(ClientError(answer, "CreateBucket"), "popular")  # type: ignore[arg-type]
    assert "taken by another account" in str(error)
    assert error.hint is not None and "choose another name" in error.hint


def test_rb_of_a_non_empty_bucket_is_refused_and_deletes_nothing(
    s3: Any, filled_bucket: tuple[str, dict[str, str]]
) -> None:
    name, before = filled_bucket

    result = run("rb", f"s3://{name}")
    assert_clean_error(result, 2, f"s3://{name} is not empty", "--force", "instruction files")
    assert out(result) == []
    assert stored(s3, name) == before
    assert name in bucket_names(s3)


def test_rb_force_dryrun_then_force_deletes_objects_sidecars_and_bucket(
    s3: Any, filled_bucket: tuple[str, dict[str, str]]
) -> None:
    name, before = filled_bucket

    dry = run("rb", f"s3://{name}", "--force", "--dryrun")
    assert dry.returncode == 0, err(dry)
    assert sorted(out(dry)) == sorted(
        [
            f"(dryrun) delete: s3://{name}/a.txt",
            f"(dryrun) delete: s3://{name}/dir/b.txt",
            f"(dryrun) remove_bucket: {name}",
        ]
    )
    assert stored(s3, name) == before

    result = run("rb", f"s3://{name}", "--force")
    assert result.returncode == 0, err(result)
    lines = out(result)
    assert lines[-1] == f"remove_bucket: {name}"
    assert sorted(lines[:-1]) == [f"delete: s3://{name}/a.txt", f"delete: s3://{name}/dir/b.txt"]
    assert name not in bucket_names(s3)


def test_rb_of_a_missing_bucket_exits_4(stack: Any) -> None:
    assert_clean_error(run("rb", f"s3://{fresh_bucket()}"), 4, "no such bucket")


def test_rb_refuses_a_versioned_bucket_with_versions_before_deleting(
    stack: Any, moto_s3: Any
) -> None:
    name = fresh_bucket()
    moto_s3.create_bucket(Bucket=name)
    moto_s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    moto_s3.put_object(Bucket=name, Key="kept", Body=b"v1")
    moto_s3.put_object(Bucket=name, Key="kept", Body=b"v2")
    endpoint = ("--endpoint-url", stack.moto_s3_endpoint)

    for extra in ((), ("--force",)):
        result = run("rb", f"s3://{name}", *extra, *endpoint)
        assert_clean_error(result, 1, "versioning enabled", "delete markers", "nothing was deleted")
    versions = moto_s3.list_object_versions(Bucket=name)
    assert len(versions["Versions"]) == 2 and not versions.get("DeleteMarkers")

    # once every version is gone, rb removes the (versioned) bucket
    moto_s3.delete_objects(
        Bucket=name,
        Delete={
            "Objects": [
                {"Key": v["Key"], "VersionId": v["VersionId"]} for v in versions["Versions"]
            ]
        },
    )
    result = run("rb", f"s3://{name}", *endpoint)
    assert result.returncode == 0, err(result)
    assert name not in bucket_names(moto_s3)


# ---------------------------------------------------------------------------- presign


def test_presign_is_refused_by_default(bucket: str, stack: Any) -> None:
    result = run("presign", f"s3://{bucket}/any-key")
    assert_clean_error(result, 2, "ciphertext, not its plaintext", "--ciphertext")
    assert out(result) == []


def test_presign_ciphertext_url_fetches_the_exact_stored_bytes(
    s3: Any, bucket: str, key_name: str, aes_key_file: tuple[Path, bytes]
) -> None:
    EncryptionClient(AesKeyring(aes_key_file[1]), s3_client=s3).put_object(
        Bucket=bucket, Key=key_name, Body=b"the plaintext " * 50
    )
    stored_bytes = s3.get_object(Bucket=bucket, Key=key_name)["Body"].read()

    result = run("presign", f"s3://{bucket}/{key_name}", "--ciphertext", "--expires-in", "120")
    assert result.returncode == 0, err(result)
    assert "s3cse: warning:" in err(result) and "encrypted bytes" in err(result)
    (url,) = out(result)
    assert url.startswith("http://127.0.0.1:") and "X-Amz-Expires=120" in url
    with urllib.request.urlopen(url, timeout=30) as response:
        fetched = response.read()
    assert fetched == stored_bytes
    assert b"the plaintext" not in fetched


@pytest.mark.parametrize("expires", ["0", "604801"])
def test_presign_expiry_is_bounded(expires: str, bucket: str) -> None:
    result = run("presign", f"s3://{bucket}/k", "--ciphertext", "--expires-in", expires)
    assert result.returncode == 2
    assert "--expires-in" in err(result)


def test_presign_refuses_a_prefix(bucket: str) -> None:
    assert_clean_error(run("presign", f"s3://{bucket}/dir/", "--ciphertext"), 2, "prefix")


# ---------------------------------------------------------------------------- ls


@pytest.fixture
def sized_objects(
    s3: Any, bucket: str, key_name: str, aes_key_file: tuple[Path, bytes]
) -> tuple[str, dict[str, int]]:
    """Objects of known plaintext sizes under a fresh prefix, and a legacy CBC one."""
    client = EncryptionClient(AesKeyring(aes_key_file[1]), s3_client=s3)
    sizes = {"one": 1, "small": 1000, "kib": 1536, "mib": 3 * 1024 * 1024}
    for name, size in sizes.items():
        client.put_object(Bucket=bucket, Key=f"{key_name}/{name}", Body=os.urandom(size))
    return key_name, sizes


def test_ls_human_readable_and_summarize(bucket: str, sized_objects: Any) -> None:
    prefix, sizes = sized_objects
    result = run("ls", f"s3://{bucket}/{prefix}/", "--human-readable", "--summarize")
    assert result.returncode == 0, err(result)
    lines = out(result)
    # date and time (19 characters), the size right-aligned in 10, the key
    shown = {line[31:]: line[20:30].strip() for line in lines[:4]}
    assert shown == {"one": "1 Byte", "small": "1000 Bytes", "kib": "1.5 KiB", "mib": "3.0 MiB"}
    total = sum(sizes.values())
    assert lines[4:] == ["", "Total Objects: 4", f"   Total Size: {total / 1024 / 1024:.1f} MiB"]

    plain = run("ls", f"s3://{bucket}/{prefix}/", "--summarize")
    assert out(plain)[-2:] == ["Total Objects: 4", f"   Total Size: {total}"]
    assert {line[31:]: int(line[20:30]) for line in out(plain)[:4]} == sizes


def test_ls_of_a_prefix_with_nothing_under_it_fails_silently_as_aws_s3_ls(
    bucket: str, sized_objects: Any
) -> None:
    prefix, _ = sized_objects
    there = run("ls", f"s3://{bucket}/{prefix}/one")
    assert there.returncode == 0 and len(out(there)) == 1
    for url in (f"s3://{bucket}/{prefix}/absent", f"s3://{bucket}/{prefix}-absent/"):
        for extra in ((), ("--exact",), ("--recursive", "--json")):
            missing = run("ls", url, *extra)
            assert (missing.returncode, out(missing), err(missing)) == (1, [], "")


def test_ls_summarize_json_is_one_summary_line(bucket: str, sized_objects: Any) -> None:
    prefix, sizes = sized_objects
    result = run("ls", f"s3://{bucket}/{prefix}/", "--summarize", "--json", "--human-readable")
    assert result.returncode == 0, err(result)
    rows = [json.loads(line) for line in out(result)]
    assert {row["key"]: row["size"] for row in rows[:-1]} == {
        f"{prefix}/{name}": size for name, size in sizes.items()
    }
    assert rows[-1] == {
        "total_objects": 4,
        "total_size": sum(sizes.values()),
        "total_size_upper_bound": False,
    }


def test_ls_summarize_marks_a_cbc_upper_bound(
    s3: Any, bucket: str, key_name: str, aes_key_file: tuple[Path, bytes]
) -> None:
    """A legacy CBC object that does not record its plaintext length has only an upper
    bound (its stored size): the total then is one too."""
    exact, exact_md = legacy.v1_aes_cbc(aes_key_file[1], b"x" * 100)  # records 100
    bound, bound_md = legacy.v2_aeswrap_cbc(aes_key_file[1], b"y" * 100)  # records none
    s3.put_object(Bucket=bucket, Key=f"{key_name}/a-exact", Body=exact, Metadata=exact_md)
    s3.put_object(Bucket=bucket, Key=f"{key_name}/b-bound", Body=bound, Metadata=bound_md)
    url = f"s3://{bucket}/{key_name}/"

    text = run("ls", url, "--exact", "--summarize")
    assert text.returncode == 0, err(text)
    lines = out(text)
    assert lines[0][20:30].strip() == "100" and lines[1][20:30].strip() == f"~{len(bound)}"
    assert lines[-2:] == ["Total Objects: 2", f"   Total Size: ~{100 + len(bound)}"]

    rows = [json.loads(line) for line in out(run("ls", url, "--exact", "--summarize", "--json"))]
    assert rows[-1] == {
        "total_objects": 2,
        "total_size": 100 + len(bound),
        "total_size_upper_bound": True,
    }


# ---------------------------------------------------------------------------- exit codes


@pytest.mark.parametrize("command", ["mb", "rb", "presign", "ls"])
def test_unknown_option_exits_2(command: str) -> None:
    result = run(command, "s3://some-bucket", "--no-such-option")
    assert result.returncode == 2
    assert "No such option" in err(result) and "Traceback" not in err(result)


@pytest.mark.parametrize("command", ["mb", "rb", "presign", "ls", "rm", "cp", "cat", "inspect"])
def test_commands_that_talk_to_s3_take_region_profile_and_endpoint(command: str) -> None:
    text = run(command, "--help").stdout.decode()
    for option in ("--region", "--profile", "--endpoint-url"):
        assert option in text, (command, option)


def test_wrong_credentials_exit_1_for_the_new_commands(
    bucket: str, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    name = fresh_bucket()
    assert_clean_error(run("mb", f"s3://{name}"), 1, "make_bucket failed")
    assert_clean_error(run("rb", f"s3://{bucket}"), 1, "failed")
    assert name not in bucket_names(s3)
    assert bucket in bucket_names(s3)


def test_help_lists_the_new_commands_and_refusals() -> None:
    text = run("--help").stdout.decode()
    for command in ("mb", "rb", "presign"):
        assert f"  {command} " in text
    assert "rb of a" in text and "presign" in text.split("Exit codes:")[1]
