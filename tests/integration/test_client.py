"""Client behaviour over real S3: legacy reads, streaming, instruction files, pass-through."""

from __future__ import annotations

import base64
import io
import json
import os
import threading
from typing import Any

import pytest

from s3cse import CryptoConfig, KmsKeyring
from s3cse import errors as e
from s3cse.core.ciphers import GcmEncryptor
from s3cse.core.envelope import seal
from s3cse.core.materials import EncryptionMaterials
from s3cse.core.metadata import serialize
from s3cse.core.suites import GCM_HKDF_COMMIT, FormatVersion
from s3cse.keyrings import RsaKeyPair, RsaKeyring

from .. import legacy
from ..conftest import MakeClient
from ..keys import aes_key, aes_keyring, rsa_private

pytestmark = pytest.mark.integration
LEGACY_READER = {"legacy": True, "commitment_policy": "REQUIRE_ENCRYPT_ALLOW_DECRYPT"}


def store(s3: Any, bucket: str, key: str, built: tuple[bytes, dict[str, str]]) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=built[0], Metadata=built[1])


@pytest.mark.parametrize(
    "builder",
    [legacy.v1_aes_cbc, legacy.v2_aeswrap_cbc, legacy.v2_aeswrap_gcm],
    ids=["v1-aes-ecb-cbc", "v2-aeswrap-cbc", "v2-aeswrap-gcm"],
)
def test_legacy_aes_objects(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str, builder: Any
) -> None:
    plaintext = os.urandom(1000)
    store(s3, bucket, key_name, builder(aes_key(0), plaintext))
    strict = make_client(aes_keyring(0), commitment_policy="REQUIRE_ENCRYPT_ALLOW_DECRYPT")
    with pytest.raises(e.LegacyModeDisabledError, match="legacy"):
        strict.get_object(Bucket=bucket, Key=key_name)
    reader = make_client(aes_keyring(0), **LEGACY_READER)
    assert reader.get_object(Bucket=bucket, Key=key_name)["Body"].read() == plaintext


def test_legacy_rsa_object(make_client: MakeClient, s3: Any, bucket: str, key_name: str) -> None:
    plaintext = b"old rsa object" * 100
    store(s3, bucket, key_name, legacy.v1_rsa_cbc(rsa_private(0).public_key(), plaintext))
    keyring = RsaKeyring(RsaKeyPair(private_key=rsa_private(0)))
    with pytest.raises(e.LegacyModeDisabledError):
        make_client(keyring, commitment_policy="REQUIRE_ENCRYPT_ALLOW_DECRYPT").get_object(
            Bucket=bucket, Key=key_name
        )
    reader = make_client(keyring, **LEGACY_READER)
    assert reader.get_object(Bucket=bucket, Key=key_name)["Body"].read() == plaintext


def test_legacy_kms_object(
    make_client: MakeClient, s3: Any, kms: Any, kms_key_id: str, bucket: str, key_name: str
) -> None:
    plaintext = b"kms v1 era"
    store(s3, bucket, key_name, legacy.v2_kms_legacy_gcm(kms, kms_key_id, plaintext))
    keyring = KmsKeyring(kms_key_id, kms_client=kms)
    with pytest.raises(e.LegacyModeDisabledError, match="'kms'"):
        make_client(keyring, commitment_policy="REQUIRE_ENCRYPT_ALLOW_DECRYPT").get_object(
            Bucket=bucket, Key=key_name
        )
    reader = make_client(keyring, **LEGACY_READER)
    assert reader.get_object(Bucket=bucket, Key=key_name)["Body"].read() == plaintext


def test_cbc_object_without_stored_length_reports_unknown_size(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str
) -> None:
    ciphertext, md = legacy.v2_aeswrap_cbc(aes_key(0), b"x" * 33)
    store(s3, bucket, key_name, (ciphertext, md))
    reader = make_client(aes_keyring(0), **LEGACY_READER)
    assert reader.head_object(Bucket=bucket, Key=key_name)["ContentLength"] is None
    response = reader.get_object(Bucket=bucket, Key=key_name)
    assert response["ContentLength"] == 33 and response["Body"].read() == b"x" * 33


def test_rfc2047_encoded_kms_context_is_decoded(
    make_client: MakeClient, s3: Any, kms: Any, kms_key_id: str, bucket: str, key_name: str
) -> None:
    """AWS returns non-ASCII metadata RFC 2047 encoded; KMS needs the exact context back."""
    context = {"city": "Zürich", "aws:x-amz-cek-alg": "115"}
    generated = kms.generate_data_key(
        KeyId=kms_key_id, KeySpec="AES_256", EncryptionContext=context
    )
    materials = EncryptionMaterials(
        GCM_HKDF_COMMIT, generated["Plaintext"], generated["CiphertextBlob"], "kms+context", context
    )
    md, content_key = seal(materials, FormatVersion.V3, instruction_file=False)
    object_md, _ = serialize(md)
    # S3's "double encoding": UTF-8 bytes taken as Latin-1, then RFC 2047 B-encoded.
    raw_json = json.dumps(context, separators=(",", ":"), ensure_ascii=False)
    mojibake = raw_json.encode("utf-8").decode("latin-1").encode("utf-8")
    object_md["x-amz-t"] = f"=?UTF-8?B?{base64.b64encode(mojibake).decode()}?="
    encryptor = GcmEncryptor(content_key)
    s3.put_object(
        Bucket=bucket,
        Key=key_name,
        Metadata=object_md,
        Body=encryptor.update(b"gr\xc3\xbcezi") + encryptor.finalize(),
    )
    client = make_client(KmsKeyring(kms_key_id, kms_client=kms))
    response = client.get_object(Bucket=bucket, Key=key_name, EncryptionContext={"city": "Zürich"})
    assert response["Body"].read() == b"gr\xc3\xbcezi"


def test_delayed_authentication_streams_and_still_detects_tampering(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str
) -> None:
    client = make_client(aes_keyring(0), delayed_authentication=True)
    data = os.urandom(3 * 1024 * 1024 + 5)
    client.put_object(Bucket=bucket, Key=key_name, Body=data)
    body = client.get_object(Bucket=bucket, Key=key_name)["Body"]
    assert b"".join(body.iter_chunks(65536)) == data
    raw = s3.get_object(Bucket=bucket, Key=key_name)
    tampered = bytearray(raw["Body"].read())
    tampered[-1] ^= 1
    s3.put_object(Bucket=bucket, Key=key_name, Body=bytes(tampered), Metadata=raw["Metadata"])
    body = client.get_object(Bucket=bucket, Key=key_name)["Body"]
    first = body.read(1024)
    assert first == data[:1024]  # released early: that is what delayed authentication means
    with pytest.raises(e.TagMismatchError):
        body.read()


def test_large_object_spools_to_disk(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str, tmp_path: Any
) -> None:
    config = CryptoConfig(spool_threshold=64 * 1024, spool_dir=str(tmp_path))
    client = make_client(aes_keyring(0), config=config)
    data = os.urandom(2 * 1024 * 1024)
    client.put_object(Bucket=bucket, Key=key_name, Body=data)
    body = client.get_object(Bucket=bucket, Key=key_name)["Body"]
    assert body.spooled_to_disk  # the plaintext went to a temp file, not memory
    assert body.read() == data


def test_non_seekable_body_is_streamed(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str
) -> None:
    client = make_client(aes_keyring(0), spool_threshold=1024)
    data = os.urandom(1024 * 1024 + 7)
    read_end, write_end = os.pipe()

    def produce() -> None:
        with os.fdopen(write_end, "wb") as sink:
            sink.write(data)

    writer = threading.Thread(target=produce)
    writer.start()
    with os.fdopen(read_end, "rb") as pipe:
        client.put_object(Bucket=bucket, Key=key_name, Body=pipe)
    writer.join()
    assert client.get_object(Bucket=bucket, Key=key_name)["Body"].read() == data


def test_instruction_file_custom_suffix_and_delete(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str
) -> None:
    client = make_client(aes_keyring(0), instruction_file=True)
    client.put_object(Bucket=bucket, Key=key_name, Body=b"data")
    s3.copy_object(
        Bucket=bucket,
        Key=key_name + ".rotated",
        CopySource={"Bucket": bucket, "Key": key_name + ".instruction"},
    )
    s3.delete_object(Bucket=bucket, Key=key_name + ".instruction")
    response = client.get_object(Bucket=bucket, Key=key_name, InstructionFileSuffix=".rotated")
    assert response["Body"].read() == b"data"
    client.put_object(Bucket=bucket, Key=key_name, Body=b"data")
    client.delete_object(Bucket=bucket, Key=key_name)
    keys = {
        o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=key_name).get("Contents", [])
    }
    assert keys == {key_name + ".rotated"}


def test_per_call_instruction_file(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str
) -> None:
    client = make_client(aes_keyring(0))
    client.put_object(Bucket=bucket, Key=key_name, Body=b"d", InstructionFile=True)
    assert "x-amz-3" not in s3.head_object(Bucket=bucket, Key=key_name)["Metadata"]
    assert client.get_object(Bucket=bucket, Key=key_name)["Body"].read() == b"d"


def test_s3_arguments_pass_through(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str
) -> None:
    client = make_client(aes_keyring(0))
    client.put_object(
        Bucket=bucket,
        Key=key_name,
        Body=b"payload",
        ContentType="text/csv",
        Metadata={"owner": "finance"},
        ServerSideEncryption="AES256",
        Tagging="team=data",
    )
    head = client.head_object(Bucket=bucket, Key=key_name)
    assert head["ContentType"] == "text/csv"
    assert head["Metadata"]["owner"] == "finance"
    assert head["ServerSideEncryption"] == "AES256"
    assert head["ContentLength"] == 7 and head["CiphertextLength"] == 23
    tags = s3.get_object_tagging(Bucket=bucket, Key=key_name)["TagSet"]
    assert tags == [{"Key": "team", "Value": "data"}]
    # anything s3cse does not change is the wrapped client's
    assert client.list_objects_v2(Bucket=bucket, Prefix=key_name)["KeyCount"] == 1


def test_sse_c_on_top_of_client_side_encryption(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str
) -> None:
    sse_c = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": os.urandom(32)}
    client = make_client(aes_keyring(0), instruction_file=True)
    client.put_object(Bucket=bucket, Key=key_name, Body=b"double", **sse_c)
    with pytest.raises(e.S3CSEError):
        client.get_object(Bucket=bucket, Key=key_name)
    assert client.get_object(Bucket=bucket, Key=key_name, **sse_c)["Body"].read() == b"double"


def test_file_upload_and_download(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str, tmp_path: Any
) -> None:
    source = tmp_path / "in.bin"
    source.write_bytes(os.urandom(5 * 1024 * 1024 + 1))
    client = make_client(aes_keyring(0))
    client.upload_file(str(source), bucket, key_name)
    target = tmp_path / "out.bin"
    client.download_file(bucket, key_name, target)
    assert target.read_bytes() == source.read_bytes()
    sink = io.BytesIO()
    assert client.download_fileobj(bucket, key_name, sink) == source.stat().st_size


@pytest.mark.parametrize("placement", ["metadata", "instruction"])
def test_copy_keeps_the_object_readable(
    make_client: MakeClient, placement: str, s3: Any, bucket: str, key_name: str
) -> None:
    client = make_client(
        aes_keyring(0), instruction_file=placement == "instruction", integrity_index=True
    )
    client.put_object(Bucket=bucket, Key=key_name, Body=b"copy me" * 1000, Metadata={"owner": "a"})
    target = key_name + "-copy"
    client.copy_object(
        Bucket=bucket,
        Key=target,
        CopySource=f"{bucket}/{key_name}",
        MetadataDirective="REPLACE",
        Metadata={"owner": "b"},
    )
    assert client.get_object(Bucket=bucket, Key=target)["Body"].read() == b"copy me" * 1000
    assert s3.head_object(Bucket=bucket, Key=target)["Metadata"]["owner"] == "b"
    ranged = client.get_object(Bucket=bucket, Key=target, Range="bytes=-7")  # via the index
    assert ranged["Body"].read() == b"copy me"
    with pytest.raises(e.ConfigurationError, match="reserved"):
        client.copy_object(
            Bucket=bucket,
            Key=target,
            CopySource=f"{bucket}/{key_name}",
            MetadataDirective="REPLACE",
            Metadata={"x-amz-iv": "forged"},
        )
