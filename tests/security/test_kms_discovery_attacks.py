"""KMS discovery against someone who can write to the bucket and holds a KMS key of
their own that the reader's credentials may use (a key policy granting Decrypt to
everyone, in another account in real life; here another key of the local account).

Discovery lets KMS pick the key from the wrapped data key, so such a writer can plant a
perfectly valid object under their own key, or point a V1-era ``kms`` object's
``kms_cmk_id`` at it, directly or through an alias. Each must be refused by the
allow-list before a byte is released, by the key KMS says it used, never by what the
metadata claims.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from s3cse import EncryptionClient, KmsKeyring
from s3cse import errors as e
from s3cse.local.kms_gate import STATS_PATH

from .. import legacy
from ..conftest import MakeClient

pytestmark = pytest.mark.integration
LEGACY = {"legacy": True, "commitment_policy": "REQUIRE_ENCRYPT_ALLOW_DECRYPT"}


@pytest.fixture(scope="module")
def keys(kms: Any) -> tuple[str, str]:
    """(the reader's trusted key, the attacker's key), as ARNs."""
    return tuple(  # type: ignore[return-value]
        kms.create_key(Description=who)["KeyMetadata"]["Arn"] for who in ("victim", "attacker")
    )


def decrypts(stack: Any) -> int:
    with urllib.request.urlopen(stack.kms_endpoint + STATS_PATH) as answer:
        count: int = json.load(answer)["requests"].get("Decrypt", 0)
    return count


def test_an_object_planted_under_the_attackers_key_is_refused(
    make_client: MakeClient, kms: Any, keys: tuple[str, str], bucket: str, key_name: str
) -> None:
    trusted, attackers = keys
    make_client(KmsKeyring(attackers, kms_client=kms)).put_object(
        Bucket=bucket, Key=key_name, Body=b"forged"
    )
    reader = make_client(KmsKeyring(discovery=True, allow=[trusted], kms_client=kms))
    with pytest.raises(e.KmsKeyNotAllowedError, match=attackers):
        reader.get_object(Bucket=bucket, Key=key_name)
    with pytest.raises(e.KmsKeyNotAllowedError):
        reader.download_fileobj(bucket, key_name, _Sink())


class _Sink:
    def __init__(self) -> None:
        self.written = b""

    def write(self, data: bytes) -> int:
        assert not data, "plaintext reached the destination"
        return 0


def test_a_legacy_object_naming_the_attackers_key_is_refused_before_kms_is_asked(
    stack: Any, kms: Any, keys: tuple[str, str], s3: Any, bucket: str, key_name: str
) -> None:
    trusted, attackers = keys
    ciphertext, md = legacy.v2_kms_legacy_gcm(kms, attackers, b"forged")
    s3.put_object(Bucket=bucket, Key=key_name, Body=ciphertext, Metadata=md)
    reader = EncryptionClient(
        KmsKeyring(discovery=True, allow=[trusted], kms_client=kms), s3_client=s3, **LEGACY
    )
    before = decrypts(stack)
    with pytest.raises(e.KmsKeyNotAllowedError, match=attackers):
        reader.get_object(Bucket=bucket, Key=key_name)
    assert decrypts(stack) == before


def test_a_legacy_object_naming_an_alias_of_the_attackers_key_is_refused_by_kmss_answer(
    kms: Any, keys: tuple[str, str], s3: Any, bucket: str, key_name: str
) -> None:
    """An alias cannot be checked before the call: KMS's answer (the key's ARN) is."""
    trusted, attackers = keys
    alias = f"alias/looks-trusted-{key_name.rsplit('/', 1)[-1]}"
    kms.create_alias(AliasName=alias, TargetKeyId=attackers)
    ciphertext, md = legacy.v2_kms_legacy_gcm(kms, alias, b"forged")
    s3.put_object(Bucket=bucket, Key=key_name, Body=ciphertext, Metadata=md)
    reader = EncryptionClient(
        KmsKeyring(discovery=True, allow=[trusted], kms_client=kms), s3_client=s3, **LEGACY
    )
    with pytest.raises(e.KmsKeyNotAllowedError, match=attackers):
        reader.get_object(Bucket=bucket, Key=key_name)


def test_a_legacy_object_claiming_the_trusted_key_over_the_attackers_blob_is_refused(
    kms: Any, keys: tuple[str, str], s3: Any, bucket: str, key_name: str
) -> None:
    """``kms_cmk_id`` says the trusted key; the data key is under the attacker's. The
    claim goes to KMS as the KeyId, and KMS refuses a blob of another key."""
    trusted, attackers = keys
    ciphertext, md = legacy.v2_kms_legacy_gcm(kms, attackers, b"forged")
    context = json.loads(md["x-amz-matdesc"])
    md["x-amz-matdesc"] = json.dumps({**context, "kms_cmk_id": trusted})
    s3.put_object(Bucket=bucket, Key=key_name, Body=ciphertext, Metadata=md)
    reader = EncryptionClient(
        KmsKeyring(discovery=True, allow=[trusted], kms_client=kms), s3_client=s3, **LEGACY
    )
    with pytest.raises(e.S3CSEError) as raised:
        reader.get_object(Bucket=bucket, Key=key_name)
    assert isinstance(raised.value, (e.KeyUnwrapError, e.KmsError))
