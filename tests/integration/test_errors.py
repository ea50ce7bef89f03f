"""Every error a user can cause gets its own exception and message, and loses nothing."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import pytest

from s3cse import CryptoConfig, KmsKeyring
from s3cse import errors as e
from s3cse.core.metadata import COMMITMENT_V3, MESSAGE_ID_V3

from ..conftest import MakeClient
from ..keys import aes_keyring

pytestmark = pytest.mark.integration


@pytest.fixture
def aes_client(make_client: MakeClient, s3: Any) -> Any:
    return make_client(aes_keyring(0))


def rewrite(s3: Any, bucket: str, key: str, *, body: Any = None, **metadata: str) -> None:
    """Change a stored object behind the client's back (the attacker's view of S3)."""
    obj = s3.get_object(Bucket=bucket, Key=key)
    data = obj["Body"].read() if body is None else body(obj["Body"].read())
    md = {**obj["Metadata"], **metadata}
    s3.put_object(Bucket=bucket, Key=key, Body=data, Metadata=md)


def flip(offset: int) -> Any:
    def change(data: bytes) -> bytes:
        out = bytearray(data)
        out[offset] ^= 0x01
        return bytes(out)

    return change


def test_missing_object_names_bucket_and_key(aes_client: Any, bucket: str) -> None:
    with pytest.raises(e.ObjectNotFoundError) as info:
        aes_client.get_object(Bucket=bucket, Key="no/such/key")
    assert f"s3://{bucket}/no/such/key" in str(info.value)


def test_missing_bucket(aes_client: Any) -> None:
    with pytest.raises(e.ObjectNotFoundError, match="no such bucket"):
        aes_client.get_object(Bucket="no-such-bucket-s3cse", Key="k")


def test_plain_object_is_not_encrypted(
    aes_client: Any, s3: Any, bucket: str, key_name: str
) -> None:
    s3.put_object(Bucket=bucket, Key=key_name, Body=b"plain")
    with pytest.raises(e.NotEncryptedError, match="no encryption metadata"):
        aes_client.get_object(Bucket=bucket, Key=key_name)


@pytest.mark.parametrize("offset", [0, 100, -1, -16, -17])
def test_tampered_content_is_refused(
    aes_client: Any, s3: Any, bucket: str, key_name: str, offset: int
) -> None:
    aes_client.put_object(Bucket=bucket, Key=key_name, Body=os.urandom(200))
    rewrite(s3, bucket, key_name, body=flip(offset))
    with pytest.raises(e.TagMismatchError, match="altered"):
        aes_client.get_object(Bucket=bucket, Key=key_name)


@pytest.mark.parametrize("change", [b"", b"x", b"x" * 16], ids=["truncate", "extend1", "extend16"])
def test_truncated_or_extended_content_is_refused(
    aes_client: Any, s3: Any, bucket: str, key_name: str, change: bytes
) -> None:
    aes_client.put_object(Bucket=bucket, Key=key_name, Body=os.urandom(100))
    rewrite(s3, bucket, key_name, body=lambda d: d[:-1] if not change else d + change)
    with pytest.raises(e.TagMismatchError):
        aes_client.get_object(Bucket=bucket, Key=key_name)


@pytest.mark.parametrize("name", [COMMITMENT_V3, MESSAGE_ID_V3])
def test_commitment_or_message_id_change_is_refused(
    aes_client: Any, s3: Any, bucket: str, key_name: str, name: str
) -> None:
    aes_client.put_object(Bucket=bucket, Key=key_name, Body=b"secret")
    stored = base64.b64decode(s3.head_object(Bucket=bucket, Key=key_name)["Metadata"][name])
    altered = bytes([stored[0] ^ 1]) + stored[1:]
    rewrite(s3, bucket, key_name, **{name: base64.b64encode(altered).decode()})
    with pytest.raises(e.CommitmentMismatchError):
        aes_client.get_object(Bucket=bucket, Key=key_name)


def test_wrong_aes_key(
    make_client: MakeClient, aes_client: Any, s3: Any, bucket: str, key_name: str
) -> None:
    aes_client.put_object(Bucket=bucket, Key=key_name, Body=b"secret")
    other = make_client(aes_keyring(1))
    with pytest.raises(e.KeyUnwrapError, match="no AES key"):
        other.get_object(Bucket=bucket, Key=key_name)


def test_wrong_kind_of_key(
    make_client: MakeClient,
    aes_client: Any,
    s3: Any,
    kms: Any,
    kms_key_id: str,
    bucket: str,
    key_name: str,
) -> None:
    aes_client.put_object(Bucket=bucket, Key=key_name, Body=b"secret")
    kms_client = make_client(KmsKeyring(kms_key_id, kms_client=kms))
    with pytest.raises(e.KeyUnwrapError, match="cannot unwrap"):
        kms_client.get_object(Bucket=bucket, Key=key_name)


def test_disabled_kms_key(
    make_client: MakeClient, s3: Any, kms: Any, bucket: str, key_name: str
) -> None:
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    client = make_client(KmsKeyring(key_id, kms_client=kms))
    client.put_object(Bucket=bucket, Key=key_name, Body=b"secret")
    kms.disable_key(KeyId=key_id)
    with pytest.raises(e.KmsKeyUnavailableError, match=key_id):
        client.get_object(Bucket=bucket, Key=key_name)
    # writing with a disabled key fails before anything reaches S3
    with pytest.raises(e.KmsKeyUnavailableError):
        client.put_object(Bucket=bucket, Key=key_name + "-new", Body=b"secret")
    with pytest.raises(e.ObjectNotFoundError):
        client.head_object(Bucket=bucket, Key=key_name + "-new")


def test_kms_key_scheduled_for_deletion(
    make_client: MakeClient, s3: Any, kms: Any, bucket: str, key_name: str
) -> None:
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    client = make_client(KmsKeyring(key_id, kms_client=kms))
    client.put_object(Bucket=bucket, Key=key_name, Body=b"secret")
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    with pytest.raises(e.KmsKeyUnavailableError):
        client.get_object(Bucket=bucket, Key=key_name)


def test_encryption_context_mismatch(
    make_client: MakeClient, s3: Any, kms: Any, kms_key_id: str, bucket: str, key_name: str
) -> None:
    client = make_client(KmsKeyring(kms_key_id, kms_client=kms))
    client.put_object(Bucket=bucket, Key=key_name, Body=b"x", EncryptionContext={"a": "1"})
    with pytest.raises(e.EncryptionContextMismatchError, match="does not match"):
        client.get_object(Bucket=bucket, Key=key_name, EncryptionContext={"a": "2"})
    with pytest.raises(e.EncryptionContextMismatchError):
        client.get_object(Bucket=bucket, Key=key_name)
    assert (
        client.get_object(Bucket=bucket, Key=key_name, EncryptionContext={"a": "1"})["Body"].read()
        == b"x"
    )


def test_altered_kms_context_is_refused_by_kms(
    make_client: MakeClient, s3: Any, kms: Any, kms_key_id: str, bucket: str, key_name: str
) -> None:
    client = make_client(KmsKeyring(kms_key_id, kms_client=kms))
    client.put_object(Bucket=bucket, Key=key_name, Body=b"x", EncryptionContext={"a": "1"})
    rewrite(s3, bucket, key_name, **{"x-amz-t": '{"a":"2","aws:x-amz-cek-alg":"115"}'})
    with pytest.raises(e.KeyUnwrapError, match="KMS rejected"):
        client.get_object(Bucket=bucket, Key=key_name, EncryptionContext={"a": "2"})


def test_v2_object_under_default_policy(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str
) -> None:
    make_client(aes_keyring(0), format="v2").put_object(
        Bucket=bucket, Key=key_name, Body=b"v2 data"
    )
    strict = make_client(aes_keyring(0))
    with pytest.raises(e.CommitmentPolicyError, match="REQUIRE_ENCRYPT_ALLOW_DECRYPT"):
        strict.get_object(Bucket=bucket, Key=key_name)
    relaxed = make_client(aes_keyring(0), commitment_policy="REQUIRE_ENCRYPT_ALLOW_DECRYPT")
    assert relaxed.get_object(Bucket=bucket, Key=key_name)["Body"].read() == b"v2 data"


def test_v3_claiming_v2_is_refused(
    make_client: MakeClient, aes_client: Any, s3: Any, bucket: str, key_name: str
) -> None:
    """Downgrade: V3 metadata rewritten as V2 GCM (IV = anything) cannot decrypt."""
    aes_client.put_object(Bucket=bucket, Key=key_name, Body=b"secret")
    obj = s3.get_object(Bucket=bucket, Key=key_name)
    md = obj["Metadata"]
    v2 = {
        "x-amz-key-v2": md["x-amz-3"],
        "x-amz-iv": base64.b64encode(b"\x01" * 12).decode(),
        "x-amz-cek-alg": "AES/GCM/NoPadding",
        "x-amz-tag-len": "128",
        "x-amz-wrap-alg": "AES/GCM",
        "x-amz-matdesc": "{}",
    }
    s3.put_object(Bucket=bucket, Key=key_name, Body=obj["Body"].read(), Metadata=v2)
    relaxed = make_client(aes_keyring(0), commitment_policy="REQUIRE_ENCRYPT_ALLOW_DECRYPT")
    with pytest.raises(e.KeyUnwrapError):
        relaxed.get_object(Bucket=bucket, Key=key_name)


def test_reserved_user_metadata_is_refused(
    aes_client: Any, s3: Any, bucket: str, key_name: str
) -> None:
    with pytest.raises(e.ConfigurationError, match="reserved"):
        aes_client.put_object(
            Bucket=bucket, Key=key_name, Body=b"x", Metadata={"x-amz-key": "forged"}
        )
    with pytest.raises(e.ObjectNotFoundError):
        aes_client.head_object(Bucket=bucket, Key=key_name)


def test_plaintext_checksums_are_refused(aes_client: Any, bucket: str, key_name: str) -> None:
    with pytest.raises(e.ConfigurationError, match="ContentMD5"):
        aes_client.put_object(Bucket=bucket, Key=key_name, Body=b"x", ContentMD5="abc")


def test_non_ascii_context_is_refused(
    make_client: MakeClient, s3: Any, kms: Any, kms_key_id: str, bucket: str, key_name: str
) -> None:
    client = make_client(KmsKeyring(kms_key_id, kms_client=kms))
    with pytest.raises(e.ConfigurationError, match="US-ASCII"):
        client.put_object(
            Bucket=bucket, Key=key_name, Body=b"x", EncryptionContext={"city": "Zürich"}
        )


def test_missing_instruction_file(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str
) -> None:
    client = make_client(aes_keyring(0), instruction_file=True)
    client.put_object(Bucket=bucket, Key=key_name, Body=b"x")
    s3.delete_object(Bucket=bucket, Key=key_name + ".instruction")
    with pytest.raises(e.InstructionFileError, match="does not exist"):
        client.get_object(Bucket=bucket, Key=key_name)


def test_instruction_file_that_is_not_json(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str
) -> None:
    client = make_client(aes_keyring(0), instruction_file=True)
    client.put_object(Bucket=bucket, Key=key_name, Body=b"x")
    s3.put_object(Bucket=bucket, Key=key_name + ".instruction", Body=b"\x00not json")
    with pytest.raises(e.InstructionFileError, match="not valid JSON"):
        client.get_object(Bucket=bucket, Key=key_name)


def test_download_failure_leaves_nothing(
    aes_client: Any, s3: Any, bucket: str, key_name: str, tmp_path: Path
) -> None:
    aes_client.put_object(Bucket=bucket, Key=key_name, Body=os.urandom(3 * 1024 * 1024))
    rewrite(s3, bucket, key_name, body=flip(-1))
    target = tmp_path / "out.bin"
    with pytest.raises(e.TagMismatchError):
        aes_client.download_file(bucket, key_name, target)
    assert list(tmp_path.iterdir()) == []
    # an existing file at the destination is left as it was
    target.write_bytes(b"keep me")
    with pytest.raises(e.TagMismatchError):
        aes_client.download_file(bucket, key_name, target)
    assert target.read_bytes() == b"keep me"
    assert list(tmp_path.iterdir()) == [target]


def test_errors_never_show_key_material(
    make_client: MakeClient, s3: Any, kms: Any, kms_key_id: str, bucket: str, key_name: str
) -> None:
    keyring = aes_keyring(0)
    client = make_client(keyring)
    client.put_object(Bucket=bucket, Key=key_name, Body=b"x")
    rewrite(s3, bucket, key_name, body=flip(0))
    with pytest.raises(e.S3CSEError) as info:
        client.get_object(Bucket=bucket, Key=key_name)
    from ..keys import aes_key

    text = str(info.value) + repr(info.value) + repr(keyring)
    assert aes_key(0).hex() not in text and base64.b64encode(aes_key(0)).decode() not in text


def test_legacy_switch_and_policies_compose(s3: Any, bucket: str, key_name: str) -> None:
    """A config error is raised before any request: v3 with FORBID_ENCRYPT is impossible."""
    with pytest.raises(e.ConfigurationError, match="forbids format v3"):
        CryptoConfig(format="v3", commitment_policy="FORBID_ENCRYPT_ALLOW_DECRYPT")
