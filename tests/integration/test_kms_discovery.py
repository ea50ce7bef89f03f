"""KMS discovery, allow-lists and multi-Region keys against the local KMS (moto server,
multi-Region keys and their replicas included), through the sync and async clients,
the CLI and ``s3cse://``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import fsspec
import pytest

from s3cse import KmsKeyring
from s3cse import errors as e

from .. import legacy
from ..conftest import MakeClient
from .test_cli import assert_clean_error, run

pytestmark = pytest.mark.integration
ACCOUNT = "123456789012"  # moto's
OTHER_ACCOUNT = "210987654321"
REPLICA_REGION = "us-west-2"
LEGACY = {"legacy": True, "commitment_policy": "REQUIRE_ENCRYPT_ALLOW_DECRYPT"}


def arn_of(kms: Any, key_id: str) -> str:
    arn: str = kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]
    return arn


@pytest.fixture(scope="module")
def two_keys(kms: Any) -> tuple[str, str]:
    """Two KMS keys of the account (ARNs): objects under each are read by discovery."""
    return tuple(  # type: ignore[return-value]
        kms.create_key(Description="discovery")["KeyMetadata"]["Arn"] for _ in range(2)
    )


@pytest.fixture(scope="module")
def multi_region_key(kms: Any) -> tuple[str, str]:
    """A multi-Region key (primary ARN in the stack's Region) and its replica's ARN."""
    primary = kms.create_key(MultiRegion=True, Description="mrk")["KeyMetadata"]
    replica = kms.replicate_key(KeyId=primary["KeyId"], ReplicaRegion=REPLICA_REGION)
    return primary["Arn"], replica["ReplicaKeyMetadata"]["Arn"]


def put(make_client: MakeClient, kms: Any, key_arn: str, bucket: str, key: str, **kw: Any) -> None:
    make_client(KmsKeyring(key_arn, kms_client=kms)).put_object(
        Bucket=bucket, Key=key, Body=b"plaintext of " + key.encode(), **kw
    )


# ------------------------------------------------------------------ discovery


@pytest.mark.parametrize("allow", ["both-arns", "account"])
def test_discovery_reads_objects_under_different_keys_and_names_each(
    make_client: MakeClient,
    kms: Any,
    two_keys: tuple[str, str],
    bucket: str,
    key_name: str,
    allow: str,
) -> None:
    entries = list(two_keys) if allow == "both-arns" else [f"account:{ACCOUNT}"]
    reader = make_client(KmsKeyring(discovery=True, allow=entries, kms_client=kms))
    for n, key_arn in enumerate(two_keys):
        put(
            make_client,
            kms,
            key_arn,
            bucket,
            f"{key_name}/{n}",
            EncryptionContext={"n": str(n)},
            IntegrityIndex=True,  # an authenticated ranged read
        )
        got = reader.get_object(
            Bucket=bucket, Key=f"{key_name}/{n}", EncryptionContext={"n": str(n)}
        )
        assert got["Body"].read() == f"plaintext of {key_name}/{n}".encode()
        assert got["Encryption"]["key_used"] == key_arn
        ranged = reader.get_object(
            Bucket=bucket, Key=f"{key_name}/{n}", Range="bytes=0-8", EncryptionContext={"n": str(n)}
        )
        assert ranged["Body"].read() == b"plaintext"
        assert ranged["Encryption"]["key_used"] == key_arn


def test_a_key_not_on_the_allow_list_is_refused_and_nothing_is_released(
    make_client: MakeClient, kms: Any, two_keys: tuple[str, str], bucket: str, key_name: str
) -> None:
    allowed, other = two_keys
    put(make_client, kms, other, bucket, key_name)
    for entries in ([allowed], [f"account:{OTHER_ACCOUNT}"]):
        reader = make_client(KmsKeyring(discovery=True, allow=entries, kms_client=kms))
        with pytest.raises(e.KmsKeyNotAllowedError) as raised:
            reader.get_object(Bucket=bucket, Key=key_name)
        assert other in str(raised.value) and "allow-list" in str(raised.value)


def test_discovery_keeps_every_check_of_a_read(
    make_client: MakeClient, kms: Any, two_keys: tuple[str, str], bucket: str, key_name: str
) -> None:
    put(make_client, kms, two_keys[0], bucket, key_name, EncryptionContext={"team": "a"})
    reader = make_client(KmsKeyring(discovery=True, allow=[two_keys[0]], kms_client=kms))
    with pytest.raises(e.EncryptionContextMismatchError):
        reader.get_object(Bucket=bucket, Key=key_name, EncryptionContext={"team": "b"})
    with pytest.raises(e.EncryptionContextMismatchError):
        reader.get_object(Bucket=bucket, Key=key_name)


def test_a_discovery_keyring_only_reads_unless_given_a_key(
    make_client: MakeClient, kms: Any, two_keys: tuple[str, str], bucket: str, key_name: str
) -> None:
    reader = make_client(KmsKeyring(discovery=True, allow=list(two_keys), kms_client=kms))
    with pytest.raises(e.ConfigurationError, match="only reads"):
        reader.put_object(Bucket=bucket, Key=key_name, Body=b"x")
    both = make_client(KmsKeyring(two_keys[1], discovery=True, allow=[two_keys[1]], kms_client=kms))
    both.put_object(Bucket=bucket, Key=key_name, Body=b"x")
    assert both.get_object(Bucket=bucket, Key=key_name)["Body"].read() == b"x"


def test_discovery_needs_an_allow_list_and_an_allow_list_needs_discovery() -> None:
    with pytest.raises(e.ConfigurationError, match="allow-list"):
        KmsKeyring(discovery=True)
    with pytest.raises(e.ConfigurationError, match="discovery"):
        KmsKeyring("alias/x", allow=[f"account:{ACCOUNT}"])
    with pytest.raises(e.ConfigurationError, match="neither a key ARN"):
        KmsKeyring(discovery=True, allow=["alias/mine"])


def test_discovery_reads_a_legacy_kms_object_by_the_key_it_names(
    make_client: MakeClient,
    kms: Any,
    two_keys: tuple[str, str],
    s3: Any,
    bucket: str,
    key_name: str,
) -> None:
    ciphertext, md = legacy.v2_kms_legacy_gcm(kms, two_keys[0], b"legacy")
    s3.put_object(Bucket=bucket, Key=key_name, Body=ciphertext, Metadata=md)
    reader = make_client(
        KmsKeyring(discovery=True, allow=[f"account:{ACCOUNT}"], kms_client=kms), **LEGACY
    )
    got = reader.get_object(Bucket=bucket, Key=key_name)
    assert got["Body"].read() == b"legacy"
    assert got["Encryption"]["key_used"] == two_keys[0]


# ------------------------------------------------------------------ multi-Region keys


def test_a_replica_of_the_writers_multi_region_key_reads_in_its_own_region(
    make_client: MakeClient,
    kms: Any,
    multi_region_key: tuple[str, str],
    bucket: str,
    key_name: str,
) -> None:
    primary, replica = multi_region_key
    put(make_client, kms, primary, bucket, key_name, EncryptionContext={"r": "1"})
    # no client given: the keyring asks KMS in the replica ARN's Region
    reader = make_client(KmsKeyring(replica))
    got = reader.get_object(Bucket=bucket, Key=key_name, EncryptionContext={"r": "1"})
    assert got["Body"].read() == f"plaintext of {key_name}".encode()
    assert got["Encryption"]["key_used"] == replica


def test_discovery_in_another_region_allows_replicas_of_an_allowed_multi_region_key(
    make_client: MakeClient,
    kms: Any,
    multi_region_key: tuple[str, str],
    bucket: str,
    key_name: str,
) -> None:
    primary, replica = multi_region_key
    put(make_client, kms, primary, bucket, key_name)
    reader = make_client(KmsKeyring(discovery=True, allow=[primary], region=REPLICA_REGION))
    got = reader.get_object(Bucket=bucket, Key=key_name)
    assert got["Body"].read() == f"plaintext of {key_name}".encode()
    assert got["Encryption"]["key_used"] == replica


def test_a_legacy_kms_object_under_a_multi_region_key_is_asked_for_in_the_readers_region(
    kms: Any, multi_region_key: tuple[str, str], s3: Any, bucket: str, key_name: str
) -> None:
    """The ``kms_cmk_id`` names the primary in its Region; the discovery keyring in the
    replica's Region sends the replica's ARN, which that Region's KMS knows."""
    from s3cse import EncryptionClient

    primary, replica = multi_region_key
    ciphertext, md = legacy.v2_kms_legacy_gcm(kms, primary, b"legacy mrk")
    s3.put_object(Bucket=bucket, Key=key_name, Body=ciphertext, Metadata=md)
    reader = EncryptionClient(
        KmsKeyring(discovery=True, allow=[primary], region=REPLICA_REGION),
        s3_client=s3,
        **LEGACY,
    )
    got = reader.get_object(Bucket=bucket, Key=key_name)
    assert got["Body"].read() == b"legacy mrk"
    assert got["Encryption"]["key_used"] == replica


# ------------------------------------------------------------------ CLI and s3cse://


def test_cli_reads_names_and_rotates_with_discovery(
    kms: Any, two_keys: tuple[str, str], bucket: str, key_name: str, tmp_path: Path
) -> None:
    source = tmp_path / "f.txt"
    source.write_bytes(b"cli discovery")
    for n, key_arn in enumerate(two_keys):
        done = run("cp", source, f"s3://{bucket}/{key_name}/{n}", "--kms-key-id", key_arn)
        assert done.returncode == 0, done.stderr
    allow = ("--kms-discovery", "--kms-allow", f"account:{ACCOUNT}")
    for n in range(2):
        cat = run("cat", f"s3://{bucket}/{key_name}/{n}", *allow)
        assert (cat.returncode, cat.stdout) == (0, b"cli discovery"), cat.stderr
    shown = run("inspect", f"s3://{bucket}/{key_name}/1", *allow)
    assert json.loads(shown.stdout)["key_used"] == two_keys[1], shown.stderr
    listed = run("ls", f"s3://{bucket}/{key_name}/", "--exact", "--json", *allow)
    assert [json.loads(line)["key_used"] for line in listed.stdout.splitlines()] == list(
        two_keys
    ), listed.stderr
    text = run("ls", f"s3://{bucket}/{key_name}/", "--exact", *allow)
    assert f"key:{two_keys[0]}" in text.stdout.decode()
    tree = run("cp", "--recursive", f"s3://{bucket}/{key_name}/", tmp_path / "tree", *allow)
    assert tree.returncode == 0, tree.stderr
    assert sorted(p.read_bytes() for p in (tmp_path / "tree").iterdir()) == [b"cli discovery"] * 2
    # every object, whichever key it is under, re-wrapped under one
    target = kms.create_key(Description="rotation target")["KeyMetadata"]["Arn"]
    rotated = run("rotate", f"s3://{bucket}/{key_name}/", *allow, "--to-kms-key-id", target)
    assert rotated.returncode == 0, rotated.stderr
    listed = run("ls", f"s3://{bucket}/{key_name}/", "--exact", "--json", *allow)
    assert {json.loads(line)["key_used"] for line in listed.stdout.splitlines()} == {target}


def test_cli_refuses_a_key_off_the_list_and_discovery_without_a_list(
    kms: Any, two_keys: tuple[str, str], bucket: str, key_name: str, tmp_path: Path
) -> None:
    source = tmp_path / "f.txt"
    source.write_bytes(b"x")
    assert (
        run("cp", source, f"s3://{bucket}/{key_name}", "--kms-key-id", two_keys[0]).returncode == 0
    )
    refused = run(
        "cp",
        f"s3://{bucket}/{key_name}",
        tmp_path / "out",
        "--kms-discovery",
        "--kms-allow",
        two_keys[1],
    )
    assert_clean_error(refused, 1, "not on the allow-list", two_keys[0])
    assert not (tmp_path / "out").exists()
    assert_clean_error(run("cat", f"s3://{bucket}/{key_name}", "--kms-discovery"), 2, "--kms-allow")
    assert_clean_error(
        run(
            "cp",
            source,
            f"s3://{bucket}/{key_name}/w",
            "--kms-discovery",
            "--kms-allow",
            two_keys[0],
        ),
        2,
        "only reads",
    )
    assert_clean_error(
        run("ls", f"s3://{bucket}/{key_name}", "--kms-discovery", "--kms-allow", two_keys[0]),
        2,
        "--exact",
    )


def test_filesystem_reads_with_discovery(
    stack: Any, kms: Any, two_keys: tuple[str, str], bucket: str, key_name: str
) -> None:
    from s3cse import EncryptionClient

    writer = EncryptionClient(KmsKeyring(two_keys[0], kms_client=kms), s3_client=boto3.client("s3"))
    writer.put_object(Bucket=bucket, Key=key_name, Body=b"through s3cse://")
    fs = fsspec.filesystem(
        "s3cse",
        kms_discovery=True,
        kms_allow=[f"account:{ACCOUNT}"],
        skip_instance_cache=True,
        endpoint_url=stack.s3_endpoint,
    )
    with fs.open(f"{bucket}/{key_name}", "rb") as f:
        assert f.read() == b"through s3cse://"
    refusing = fsspec.filesystem(
        "s3cse",
        kms_discovery=True,
        kms_allow=[two_keys[1]],
        skip_instance_cache=True,
        endpoint_url=stack.s3_endpoint,
    )
    with pytest.raises(e.KmsKeyNotAllowedError), refusing.open(f"{bucket}/{key_name}", "rb") as f:
        f.read()


def test_a_disabled_key_found_by_discovery_is_refused_as_disabled(
    make_client: MakeClient, kms: Any, bucket: str, key_name: str
) -> None:
    created = kms.create_key(Description="to be disabled")["KeyMetadata"]
    put(make_client, kms, created["Arn"], bucket, key_name)
    kms.disable_key(KeyId=created["KeyId"])
    reader = make_client(KmsKeyring(discovery=True, allow=[f"account:{ACCOUNT}"], kms_client=kms))
    with pytest.raises(e.KmsKeyUnavailableError, match="disabled"):
        reader.get_object(Bucket=bucket, Key=key_name)
