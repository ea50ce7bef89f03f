"""Every real writer's objects (tests/vectors/writer-*.json, docs/writers.md section 10),
read without a server through the clients' own read path.

The object's metadata and its instruction file's raw body go through the same core
functions the sync and async clients call after their GETs (``core.reads``: metadata
parsing, where the instruction file is looked for, the file's parsing and merging; then
the policy checks, the keyring, the commitment check and the content cipher). KMS rows
use ``RecordedKms``, which accepts exactly the recorded Decrypt request. Each vector
decrypts to its plaintext or is refused with the error it names; readers without the
options a row needs refuse it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from s3cse.core import envelope, reads
from s3cse.core.ciphers import content_decryptor
from s3cse.core.config import CryptoConfig
from s3cse.core.materials import DefaultMaterialsManager
from s3cse.core.metadata import DEFAULT_INSTRUCTION_SUFFIX
from s3cse.errors import CommitmentPolicyError, LegacyModeDisabledError, PolicyError

from .. import writer_vectors as wv
from ..recorded_kms import RecordedKms

DOCS = Path(__file__).resolve().parents[2] / "docs" / "writers.md"
README = Path(__file__).resolve().parents[1] / "vectors" / "README.md"
KEY = "data/object.bin"
BY_NAME = wv.by_name()


def read(vector: dict[str, Any], config: CryptoConfig) -> tuple[bytes, RecordedKms | None]:
    """What a client does with the object's GET response and its instruction file."""
    object_md = reads.object_metadata(vector["metadata"])
    md = reads.parse_object_metadata(object_md)
    if md is None:
        looked_at = reads.instruction_file_names(KEY, DEFAULT_INSTRUCTION_SUFFIX, object_md)
        assert KEY + vector["instruction_suffix"] in looked_at, looked_at
        body = vector["instruction_file_body"].encode("utf-8")
        md = reads.parse_with_instruction_file(object_md, body)
    ciphertext = wv.ciphertext(vector)
    size = envelope.plaintext_size(md, len(ciphertext))
    keyring, kms = wv.keyring(vector)
    request = envelope.decryption_request(md, config, wv.caller_context(vector))
    data_key = DefaultMaterialsManager(keyring).decrypt_data_key(request)
    decryptor = content_decryptor(envelope.unseal(md, data_key))
    plaintext = decryptor.update(ciphertext) + decryptor.finalize()
    if size is not None:
        assert len(plaintext) == size
    return plaintext, kms


def section_10_rows() -> set[str]:
    text = DOCS.read_text()
    section = text[text.index("## 10. What s3cse reads") : text.index("## 11.")]
    rows = re.findall(r"^\| (.+?) \| (?:yes|no|not established|metadata parses)", section, re.M)
    return {row.replace("**", "") for row in rows}


# ------------------------------------------------------------------ the set


def test_every_row_of_section_10_has_vectors() -> None:
    rows = section_10_rows()
    assert len(rows) >= 20
    assert {v["writer"] for v in wv.load()} == rows


def test_the_vectors_readme_lists_every_writer_vector() -> None:
    listed = set(re.findall(r"^\| `(writer-[^`]+)` \|", README.read_text(), re.M))
    on_disk = {path.stem for path in wv.VECTOR_DIR.glob("writer-*.json")}
    assert listed == on_disk


def test_every_vector_says_where_its_layout_comes_from() -> None:
    for vector in wv.load():
        assert "docs/writers.md" in vector["note"] or vector["producer"].startswith(
            "amazon-s3-encryption-client-python"
        ), vector["name"]
        if vector["expect"] == "refused":
            assert vector["refusal"]["why"], vector["name"]


@pytest.mark.parametrize(
    ("name", "where", "spelled"),
    [
        # the quirks the rows are about, as the fixtures spell them
        ("writer-java-v1-eo-aes-if-17", "marker", {"x-amz-crypto-instr-file": ""}),
        ("writer-java-v1-eo-aes-if-17", "object", {"x-amz-unencrypted-content-length": "17"}),
        ("writer-go-v1-kms-cbc-if-17", "body", '"x-amz-tag-len":"",'),
        ("writer-go-v1-before-1743-kms-cbc-17", "object", {"X-Amz-Tag-Len": ""}),
        ("writer-go-v1-v2client-kms-context-1", "object", {"X-Amz-Wrap-Alg": "kms+context"}),
        ("writer-go-v1-v2client-kms-context-1", "matdesc", "r\\u0026d"),
        ("writer-dotnet-legacy-aes-if-17", "body", '{"EncryptedEnvelopeKey":"'),
        ("writer-dotnet-v2-rsa-oaep-sha1-if-100", "body", "\\u002B"),
        # the description's own escape, escaped again in the file
        ("writer-dotnet-v2-kms-context-if-17", "body", "{\\u0022team\\u0022:\\u0022r\\\\u0026d"),
        ("writer-dotnet-v4-v3-kms-context-if-17", "body", '"x-amz-m":null}'),
        ("writer-dotnet-v4-v3-aes-gcm-17", "object", {"x-amz-m": "{}"}),
        ("writer-cpp-eo-aeswrap-17", "object", {"x-amz-tag-len": "0"}),
        ("writer-cpp-eo-aeswrap-if-100", "body", '"x-amz-tag-len":"0"'),
        (
            "writer-cpp-eo-aeswrap-if-100",
            "marker",
            {"x-amz-crypto-instr-file": "default instruction file header"},
        ),
        ("writer-php-v1-kms-gcm-if-17", "body", '"x-amz-tag-len":128}'),
        ("writer-php-v1-kms-gcm-if-17", "body", '"x-amz-unencrypted-content-length":17,'),
        ("writer-php-v1-kms-gcm-if-17", "body", '"x-amz-unencrypted-content-md5":"'),
        ("writer-php-v1-kms-gcm-if-17", "body", '"AES\\/GCM\\/NoPadding"'),
        ("writer-php-v2-kms-context-1", "matdesc", '{"team":"a\\/b","aws:x-amz-cek-alg"'),
        ("writer-php-v3-v2-kms-context-if-1", "body", '"x-amz-unencrypted-content-length":"1"'),
        ("writer-ruby-v2-aes-gcm-if-17", "body", '"x-amz-tag-len":128,'),
        ("writer-ruby-v1-aes-number-matdesc-17", "object", {"x-amz-matdesc": '{"n":1}'}),
        ("writer-aioboto3-kms-gcm-17", "matdesc", '{"kms_cmk_id": "arn:'),
    ],
)
def test_the_fixture_spells_the_writers_quirk(name: str, where: str, spelled: Any) -> None:
    vector = BY_NAME[name]
    if where == "body":
        assert spelled in vector["instruction_file_body"]
    elif where == "matdesc":
        assert spelled in reads.object_metadata(vector["metadata"])["x-amz-matdesc"]
    else:
        stored = vector["instruction_metadata"] if where == "marker" else vector["metadata"]
        assert spelled.items() <= stored.items()


def test_php_key_sizes_are_those_the_rows_name() -> None:
    sizes = {
        name: len(bytes.fromhex(BY_NAME[name]["master_key"]["data_key_hex"]))
        for name in (
            "writer-php-v1-kms-gcm-aes128-17",
            "writer-php-v1-kms-cbc-aes192-100",
            "writer-php-v2-kms-context-aes128-1",
        )
    }
    assert sorted(sizes.values()) == [16, 16, 24]


def test_the_official_client_is_covered_by_its_own_vectors() -> None:
    made = [v for v in wv.load() if v["writer"] == "Python official, aioboto3"]
    by_peer = [v for v in made if v["producer"].startswith("amazon-s3-encryption-client-python")]
    assert {v["format"] for v in by_peer} == {"v2", "v3"}
    assert len(by_peer) == 8


# ------------------------------------------------------------------ reading


@pytest.mark.parametrize("name", wv.names(expect="plaintext"))
def test_vector_decrypts_to_its_plaintext(name: str) -> None:
    vector = BY_NAME[name]
    plaintext, kms = read(vector, wv.crypto_config(vector))
    assert plaintext == wv.plaintext(vector)
    if kms is not None:
        assert kms.decrypt_calls == 1


@pytest.mark.parametrize("name", wv.names(expect="refused"))
def test_vector_is_refused_with_the_error_it_names(name: str) -> None:
    vector = BY_NAME[name]
    error, message = wv.refusal(vector)
    with pytest.raises(error, match=re.escape(message)):
        read(vector, wv.crypto_config(vector))


@pytest.mark.parametrize("name", wv.names(expect="plaintext", legacy=True))
def test_a_reader_without_legacy_modes_refuses_legacy_rows(name: str) -> None:
    vector = BY_NAME[name]
    with pytest.raises(LegacyModeDisabledError):
        read(vector, wv.crypto_config(vector, legacy=False))


@pytest.mark.parametrize(
    "name", [n for n in wv.names(expect="plaintext") if BY_NAME[n]["format"] != "v3"]
)
def test_the_default_reader_refuses_uncommitted_rows(name: str) -> None:
    """V1/V2 content commits to no key: only REQUIRE_ENCRYPT_ALLOW_DECRYPT reads it."""
    vector = BY_NAME[name]
    with pytest.raises(PolicyError) as raised:
        read(vector, CryptoConfig())
    if not vector["reader"]["legacy"]:
        assert isinstance(raised.value, CommitmentPolicyError)


@pytest.mark.parametrize(
    "name", [n for n in wv.names(expect="plaintext") if BY_NAME[n]["instruction_file_body"]]
)
def test_instruction_file_vectors_need_their_file(name: str) -> None:
    """Without the instruction file the object's own metadata does not suffice."""
    vector = BY_NAME[name]
    object_md = reads.object_metadata(vector["metadata"])
    assert reads.parse_object_metadata(object_md) is None
    assert json.loads(vector["instruction_file_body"])
