"""Errors point the right way: each failure a user can cause says what went wrong and
what to do about it, through the sync and the async client alike.

Each test provokes the failure for real against the local stack (no credentials, no
region, another KMS key, a missing alias, a different encryption context, a V2 object
under the default policy, a key of the wrong kind) and reads the message a user gets.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from s3cse import EncryptionClient, KmsKeyring
from s3cse import errors as e
from s3cse.aio import AsyncEncryptionClient
from s3cse.keyrings import AsyncKmsKeyring

from ..aio_facade import SyncFacade
from ..conftest import MakeClient
from ..keys import aes_keyring, rsa_keyring

pytestmark = pytest.mark.integration

CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
)
REGION_VARIABLES = ("AWS_REGION", "AWS_DEFAULT_REGION")


def forget(monkeypatch: pytest.MonkeyPatch, names: tuple[str, ...], tmp_path: Any) -> None:
    """Remove AWS settings from the environment, and every other place botocore looks
    (config files, instance metadata), for clients made from now on."""
    for name in names:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # it caches what it resolved


@pytest.fixture
def kms_from_environment(
    client_kind: str,
    s3: Any,
    request: pytest.FixtureRequest,
) -> Iterator[Any]:
    """``reader(key_id)``: a client whose S3 is set up, and whose KMS client is made on
    first use from the environment as it is then (as a keyring without a client does)."""
    opened: list[Any] = []

    def reader(key_id: str) -> Any:
        if client_kind == "sync":
            return EncryptionClient(KmsKeyring(key_id), s3_client=s3)
        stack = request.getfixturevalue("async_stack")
        keyring = AsyncKmsKeyring(key_id)
        opened.append((keyring, stack))
        return SyncFacade(AsyncEncryptionClient(keyring, s3_client=stack.s3), stack.runner)

    yield reader
    for keyring, stack in opened:
        stack.runner.run(keyring.aclose())


def fresh_s3_reader(client_kind: str, keyring: Any) -> Any:
    """A client whose S3 client is made now, from the environment as it is now."""
    if client_kind == "sync":
        return EncryptionClient(keyring, s3_client=boto3.Session().client("s3"))
    return _FreshAsync(keyring)


class _FreshAsync:
    """``get_object`` through an ``AsyncEncryptionClient.create`` opened for the call."""

    def __init__(self, keyring: Any) -> None:
        self.keyring = keyring

    def get_object(self, **kwargs: Any) -> bytes:
        import asyncio

        async def read() -> bytes:
            async with AsyncEncryptionClient.create(self.keyring) as client:
                response = await client.get_object(**kwargs)
                data: bytes = await response["Body"].read()
                return data

        return asyncio.run(read())


# ---------------------------------------------------------------- credentials, region


def test_no_credentials_says_how_to_provide_them(
    client_kind: str,
    make_client: MakeClient,
    bucket: str,
    key_name: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> None:
    make_client(aes_keyring(0)).put_object(Bucket=bucket, Key=key_name, Body=b"secret")
    forget(monkeypatch, CREDENTIAL_VARIABLES, tmp_path)
    with pytest.raises(e.S3RequestError) as raised:
        fresh_s3_reader(client_kind, aes_keyring(0)).get_object(Bucket=bucket, Key=key_name)
    text = str(raised.value)
    assert f"s3://{bucket}/{key_name}" in text
    assert "no AWS credentials" in text
    for way in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_PROFILE",
        "--profile",
        "aws configure",
    ):
        assert way in text, text
    assert "endpoint" not in text


@pytest.mark.parametrize(
    ("forgotten", "fragments"),
    [
        (CREDENTIAL_VARIABLES, ["no AWS credentials", "AWS_ACCESS_KEY_ID", "aws configure"]),
        (REGION_VARIABLES, ["no AWS region", "--region", "AWS_REGION"]),
    ],
    ids=["credentials", "region"],
)
def test_kms_without_credentials_or_region_says_how_to_provide_them(
    kms_from_environment: Any,
    make_client: MakeClient,
    kms: Any,
    kms_key_id: str,
    bucket: str,
    key_name: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
    forgotten: tuple[str, ...],
    fragments: list[str],
) -> None:
    make_client(KmsKeyring(kms_key_id, kms_client=kms)).put_object(
        Bucket=bucket, Key=key_name, Body=b"secret"
    )
    forget(monkeypatch, forgotten, tmp_path)
    with pytest.raises(e.KmsError) as raised:
        kms_from_environment(kms_key_id).get_object(Bucket=bucket, Key=key_name)
    text = str(raised.value)
    assert f"s3://{bucket}/{key_name}" in text  # the object, though KMS failed
    for fragment in fragments:
        assert fragment in text, text
    assert "endpoint" not in text


# ---------------------------------------------------------------- KMS keys


def test_another_kms_key_says_so_not_grant(
    make_client: MakeClient,
    kms: Any,
    kms_key_id: str,
    bucket: str,
    key_name: str,
) -> None:
    make_client(KmsKeyring(kms_key_id, kms_client=kms)).put_object(
        Bucket=bucket, Key=key_name, Body=b"secret"
    )
    other = kms.create_key(Description="another key")["KeyMetadata"]["KeyId"]
    with pytest.raises(e.KeyUnwrapError) as raised:
        make_client(KmsKeyring(other, kms_client=kms)).get_object(Bucket=bucket, Key=key_name)
    text = str(raised.value)
    assert f"KMS key {other} cannot decrypt this object" in text
    assert "another KMS key" in text
    assert "Grant" not in text and "kms:" not in text


def test_missing_alias_says_it_does_not_exist(
    make_client: MakeClient,
    kms: Any,
    kms_key_id: str,
    bucket: str,
    key_name: str,
) -> None:
    alias = f"alias/s3cse-missing-{uuid.uuid4().hex[:8]}"
    client = make_client(KmsKeyring(alias, kms_client=kms))
    with pytest.raises(e.KmsKeyUnavailableError) as raised:
        client.put_object(Bucket=bucket, Key=key_name, Body=b"secret")
    text = str(raised.value)
    assert f"the KMS alias {alias} does not exist" in text
    assert "--region" in text and "create-alias" in text
    assert "Enable" not in text and "Grant" not in text


def test_disabled_key_says_how_to_enable_it(
    make_client: MakeClient,
    kms: Any,
    bucket: str,
    key_name: str,
) -> None:
    key_id = kms.create_key(Description="to disable")["KeyMetadata"]["KeyId"]
    kms.disable_key(KeyId=key_id)
    with pytest.raises(e.KmsKeyUnavailableError) as raised:
        make_client(KmsKeyring(key_id, kms_client=kms)).put_object(
            Bucket=bucket, Key=key_name, Body=b"secret"
        )
    text = str(raised.value)
    assert "DisabledException" in text and "aws kms enable-key" in text
    assert "does not exist" not in text


# ---------------------------------------------------------------- encryption context


@pytest.fixture
def context_object(
    make_client: MakeClient, kms: Any, kms_key_id: str, bucket: str, key_name: str
) -> Any:
    client = make_client(KmsKeyring(kms_key_id, kms_client=kms))
    client.put_object(
        Bucket=bucket, Key=key_name, Body=b"x", EncryptionContext={"dept": "finance", "team": "ops"}
    )
    return client


def test_context_mismatch_names_the_keys_that_differ_without_values(
    context_object: Any,
    bucket: str,
    key_name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("S3CSE_DEBUG", raising=False)
    with pytest.raises(e.EncryptionContextMismatchError) as raised:
        context_object.get_object(
            Bucket=bucket, Key=key_name, EncryptionContext={"dept": "hr", "extra": "yes"}
        )
    text = str(raised.value)
    assert "missing (stored with the object, not given): 'team'" in text
    assert "unexpected (given, not stored with the object): 'extra'" in text
    assert "another value given for: 'dept'" in text
    for value in ("finance", "ops", "hr", "yes"):
        assert value not in text, text


def test_context_mismatch_shows_values_when_debugging(
    context_object: Any,
    bucket: str,
    key_name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("S3CSE_DEBUG", "1")
    with pytest.raises(e.EncryptionContextMismatchError) as raised:
        context_object.get_object(
            Bucket=bucket, Key=key_name, EncryptionContext={"dept": "hr", "team": "ops"}
        )
    text = str(raised.value)
    assert "'dept' (given 'hr', stored 'finance')" in text
    assert "missing" not in text and "unexpected" not in text


# ---------------------------------------------------------------- policy, key kinds


def test_v2_under_default_policy_names_the_option(
    make_client: MakeClient,
    bucket: str,
    key_name: str,
) -> None:
    make_client(aes_keyring(0), format="v2").put_object(Bucket=bucket, Key=key_name, Body=b"v2")
    with pytest.raises(e.CommitmentPolicyError) as raised:
        make_client(aes_keyring(0)).get_object(Bucket=bucket, Key=key_name)
    text = str(raised.value)
    assert 'commitment_policy="REQUIRE_ENCRYPT_ALLOW_DECRYPT"' in text
    assert "--commitment-policy REQUIRE_ENCRYPT_ALLOW_DECRYPT" in text


def test_wrong_kind_of_key_names_the_kind_needed(
    make_client: MakeClient,
    bucket: str,
    key_name: str,
) -> None:
    make_client(aes_keyring(0)).put_object(Bucket=bucket, Key=key_name, Body=b"aes")
    with pytest.raises(e.KeyUnwrapError) as raised:
        make_client(rsa_keyring(0)).get_object(Bucket=bucket, Key=key_name)
    text = str(raised.value)
    assert "wrapped under an AES key" in text
    assert "AesKeyring" in text and "--aes-key-file" in text
    assert "RsaKeyring" not in text
