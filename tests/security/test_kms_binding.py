"""KMS wraps relabelled by someone who can write to the bucket but holds no key.

A ``kms+context`` data key is bound by KMS to its stored encryption context, which holds
the content algorithm (``aws:x-amz-cek-alg``) and the writer's context. KMS hands the key
back for that exact context, so an attacker who changes only the *label* (``x-amz-wrap-alg``
to the V1-era ``kms``) still gets the key unwrapped: the reader must notice the label lies
before asking KMS. Two things are at stake: a forged AES-CBC object that decrypts to bytes
of the attacker's choice, and a copy of a context-bound object read by a caller who named
no context (defeating KMS key policies conditioned on the context).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from s3cse import KmsKeyring
from s3cse import errors as e

from ..conftest import MakeClient

pytestmark = pytest.mark.integration

ALLOW = "REQUIRE_ENCRYPT_ALLOW_DECRYPT"
CONTEXT = {"dept": "finance"}
# A first block the attacker knows (a file header, a CSV heading, ...).
KNOWN = b"date,amount,acct\n2026-01-01,100,1\n"
FORGED = b"rm -rf ~/data #"  # 15 bytes: one CBC block with a 1-byte PKCS#7 pad


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def _write_v2(make_client: MakeClient, kms: Any, kms_key_id: str, bucket: str, key: str) -> None:
    writer = make_client(KmsKeyring(kms_key_id, kms_client=kms), format="v2")
    writer.put_object(Bucket=bucket, Key=key, Body=KNOWN, EncryptionContext=CONTEXT)


def _relabel(s3: Any, bucket: str, source: str, target: str) -> dict[str, str]:
    """Copy the object with only its wrap label changed to the V1-era ``kms``."""
    obj = s3.get_object(Bucket=bucket, Key=source)
    metadata = dict(obj["Metadata"])
    assert metadata["x-amz-wrap-alg"] == "kms+context"
    metadata["x-amz-wrap-alg"] = "kms"
    s3.put_object(Bucket=bucket, Key=target, Body=obj["Body"].read(), Metadata=metadata)
    return metadata


def _plant_cbc_forgery(s3: Any, bucket: str, source: str, target: str) -> None:
    """One AES-CBC block that decrypts to ``FORGED`` under the GCM object's data key.

    GCM encrypts the first block as P1 xor E_K(IV || 00000002); knowing P1 gives that
    pair (x, E_K(x)). CBC decrypts a block C as D_K(C) xor IV', so C = E_K(x) and
    IV' = x xor (FORGED || 01) yields FORGED, with no key in hand.
    """
    obj = s3.get_object(Bucket=bucket, Key=source)
    metadata = dict(obj["Metadata"])
    ciphertext = obj["Body"].read()
    gcm_iv = base64.b64decode(metadata["x-amz-iv"])
    counter_block = gcm_iv + (2).to_bytes(4, "big")
    encrypted_counter = _xor(ciphertext[:16], KNOWN[:16])
    cbc_iv = _xor(counter_block, FORGED + b"\x01")
    metadata.update(
        {
            "x-amz-wrap-alg": "kms",
            "x-amz-cek-alg": "AES/CBC/PKCS5Padding",
            "x-amz-iv": base64.b64encode(cbc_iv).decode(),
            "x-amz-unencrypted-content-length": str(len(FORGED)),
        }
    )
    metadata.pop("x-amz-tag-len", None)
    s3.put_object(Bucket=bucket, Key=target, Body=encrypted_counter, Metadata=metadata)


def test_the_forgery_is_what_cbc_would_release(
    s3: Any, kms: Any, kms_key_id: str, bucket: str, key_name: str
) -> None:
    """The planted block really decrypts to the attacker's text under the data key, so
    the tests below refuse a working forgery, not a broken one."""
    from s3cse import EncryptionClient

    _write_v2(
        lambda keyring, **kw: EncryptionClient(keyring, s3_client=s3, **kw),
        kms,
        kms_key_id,
        bucket,
        key_name,
    )
    _plant_cbc_forgery(s3, bucket, key_name, key_name + ".forged")
    stored = s3.get_object(Bucket=bucket, Key=key_name)["Metadata"]
    data_key = kms.decrypt(
        CiphertextBlob=base64.b64decode(stored["x-amz-key-v2"]),
        EncryptionContext=json.loads(stored["x-amz-matdesc"]),
    )["Plaintext"]
    forged = s3.get_object(Bucket=bucket, Key=key_name + ".forged")
    iv = base64.b64decode(forged["Metadata"]["x-amz-iv"])
    decryptor = Cipher(algorithms.AES(data_key), modes.CBC(iv)).decryptor()
    plain = decryptor.update(forged["Body"].read()) + decryptor.finalize()
    assert plain == FORGED + b"\x01"


def test_relabelled_kms_wrap_plants_no_cbc_plaintext(
    make_client: MakeClient,
    s3: Any,
    kms: Any,
    kms_key_id: str,
    bucket: str,
    key_name: str,
) -> None:
    _write_v2(make_client, kms, kms_key_id, bucket, key_name)
    forged = key_name + ".forged"
    _plant_cbc_forgery(s3, bucket, key_name, forged)
    reader = make_client(
        KmsKeyring(kms_key_id, kms_client=kms), legacy=True, commitment_policy=ALLOW
    )
    for context in ({}, CONTEXT):
        with pytest.raises(e.MetadataError, match="only 'kms\\+context' writers"):
            reader.get_object(Bucket=bucket, Key=forged, EncryptionContext=context)["Body"].read()


def test_relabelled_kms_wrap_does_not_drop_the_context(
    make_client: MakeClient,
    s3: Any,
    kms: Any,
    kms_key_id: str,
    bucket: str,
    key_name: str,
) -> None:
    """A copy of a finance-bound object, relabelled ``kms``, is not read by a caller who
    passed no context (nor by one who names the right one: the label is a lie)."""
    _write_v2(make_client, kms, kms_key_id, bucket, key_name)
    copy = key_name + ".relabelled"
    _relabel(s3, bucket, key_name, copy)
    reader = make_client(
        KmsKeyring(kms_key_id, kms_client=kms), legacy=True, commitment_policy=ALLOW
    )
    for context in ({}, CONTEXT):
        with pytest.raises(e.MetadataError):
            reader.get_object(Bucket=bucket, Key=copy, EncryptionContext=context)["Body"].read()
    # the original stays readable with its context, and only with it
    original = reader.get_object(Bucket=bucket, Key=key_name, EncryptionContext=CONTEXT)
    assert original["Body"].read() == KNOWN
    with pytest.raises(e.EncryptionContextMismatchError):
        reader.get_object(Bucket=bucket, Key=key_name)


def test_kms_context_without_algorithm_key_is_refused(
    make_client: MakeClient,
    s3: Any,
    kms: Any,
    kms_key_id: str,
    bucket: str,
    key_name: str,
) -> None:
    """A V1-era ``kms`` key (context: just ``kms_cmk_id``) relabelled ``kms+context`` would
    dodge the legacy switch; every ``kms+context`` writer stores the algorithm key."""
    data_key = kms.generate_data_key(
        KeyId=kms_key_id, KeySpec="AES_256", EncryptionContext={"kms_cmk_id": kms_key_id}
    )
    from s3cse.core.ciphers import GcmEncryptor
    from s3cse.core.suites import GCM_IV12_TAG16

    iv = os.urandom(12)
    encryptor = GcmEncryptor(_content_key(GCM_IV12_TAG16, data_key["Plaintext"], iv))
    body = encryptor.update(KNOWN) + encryptor.finalize()
    s3.put_object(
        Bucket=bucket,
        Key=key_name,
        Body=body,
        Metadata={
            "x-amz-key-v2": base64.b64encode(data_key["CiphertextBlob"]).decode(),
            "x-amz-iv": base64.b64encode(iv).decode(),
            "x-amz-cek-alg": "AES/GCM/NoPadding",
            "x-amz-tag-len": "128",
            "x-amz-wrap-alg": "kms+context",
            "x-amz-matdesc": json.dumps({"kms_cmk_id": kms_key_id}),
        },
    )
    reader = make_client(KmsKeyring(kms_key_id, kms_client=kms), commitment_policy=ALLOW)
    with pytest.raises(e.MetadataError, match="lacks aws:x-amz-cek-alg"):
        reader.get_object(Bucket=bucket, Key=key_name)["Body"].read()


def _content_key(suite: Any, data_key: bytes, iv: bytes) -> Any:
    from s3cse.core.ciphers import ContentKey

    return ContentKey(suite=suite, key=data_key, iv=iv)


def test_cli_prints_nothing_of_a_relabelled_forgery(
    s3: Any,
    kms: Any,
    kms_key_id: str,
    bucket: str,
    key_name: str,
) -> None:
    """The reader setup the README gives for aioboto3 objects (legacy on, V2 allowed)
    exits non-zero with nothing on stdout."""
    from s3cse import EncryptionClient

    _write_v2(
        lambda keyring, **kw: EncryptionClient(keyring, s3_client=s3, **kw),
        kms,
        kms_key_id,
        bucket,
        key_name,
    )
    forged = key_name + ".forged"
    _plant_cbc_forgery(s3, bucket, key_name, forged)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "s3cse.cli",
            "cp",
            f"s3://{bucket}/{forged}",
            "-",
            "--kms-key-id",
            kms_key_id,
            "--legacy",
            "--commitment-policy",
            ALLOW,
        ],
        capture_output=True,
        timeout=60,
        check=False,
        env=dict(os.environ),
    )
    assert result.stdout == b""
    assert result.returncode != 0
    assert b"only 'kms+context' writers store" in result.stderr
