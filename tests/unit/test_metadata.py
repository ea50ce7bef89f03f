"""Strict parsing of V1/V2/V3 encryption metadata, instruction files, and writing."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable

import pytest

from s3cse.core import metadata as m
from s3cse.core import reads
from s3cse.core.metadata import ContentMetadata
from s3cse.core.suites import CBC_IV16, GCM_HKDF_COMMIT, GCM_IV12_TAG16, FormatVersion
from s3cse.errors import InstructionFileError, MetadataError


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# Fixed, recognisable byte strings so a parse can be checked against what went in.
EDK_AES_V1 = bytes(range(48))  # AES/ECB/PKCS5 of a 32-byte key: 48 bytes
EDK_RSA_V1 = bytes(range(256))  # RSA-2048: 256 bytes
EDK_V2 = bytes(range(100, 160))  # 12 + 32 + 16
EDK_V3 = bytes(range(1, 61))
IV12 = bytes(range(12))
IV16 = bytes(range(16, 32))
MSG_ID = bytes(range(30, 58))
COMMIT = bytes(range(70, 98))


def v1_md(edk: bytes = EDK_AES_V1) -> dict[str, str]:
    return {
        "x-amz-key": b64(edk),
        "x-amz-iv": b64(IV16),
        "x-amz-matdesc": '{"who":"v1"}',
        "x-amz-unencrypted-content-length": "1234",
    }


def v2_gcm_md() -> dict[str, str]:
    return {
        "x-amz-key-v2": b64(EDK_V2),
        "x-amz-iv": b64(IV12),
        "x-amz-cek-alg": "AES/GCM/NoPadding",
        "x-amz-tag-len": "128",
        "x-amz-wrap-alg": "AES/GCM",
        "x-amz-matdesc": '{"purpose":"tests"}',
    }


def v2_cbc_md() -> dict[str, str]:
    return {
        "x-amz-key-v2": b64(EDK_V2),
        "x-amz-iv": b64(IV16),
        "x-amz-cek-alg": "AES/CBC/PKCS5Padding",
        "x-amz-wrap-alg": "kms",
        "x-amz-matdesc": '{"kms_cmk_id":"alias/x"}',
    }


def v3_kms_md() -> dict[str, str]:
    return {
        "x-amz-c": "115",
        "x-amz-3": b64(EDK_V3),
        "x-amz-w": "12",
        "x-amz-t": '{"aws:x-amz-cek-alg":"115","team":"blue"}',
        "x-amz-d": b64(COMMIT),
        "x-amz-i": b64(MSG_ID),
    }


def v3_raw_md() -> dict[str, str]:
    return {
        "x-amz-c": "115",
        "x-amz-3": b64(EDK_V3),
        "x-amz-w": "02",
        "x-amz-m": '{"key":"2024"}',
        "x-amz-d": b64(COMMIT),
        "x-amz-i": b64(MSG_ID),
    }


BUILDERS = {
    "v1": v1_md,
    "v2gcm": v2_gcm_md,
    "v2cbc": v2_cbc_md,
    "v3kms": v3_kms_md,
    "v3raw": v3_raw_md,
}


def edit(base: str, **changes: str | None) -> dict[str, str]:
    """A valid metadata dict of kind ``base`` with keys replaced (None deletes)."""
    md = BUILDERS[base]()
    for name, value in changes.items():
        key = name.replace("_", "-")
        if value is None:
            md.pop(key, None)
        else:
            md[key] = value
    return md


# ---------------------------------------------------------------- valid parses


def test_parse_v1_aes_inferred() -> None:
    cm = m.parse(v1_md())
    assert cm.version is FormatVersion.V1
    assert cm.suite is CBC_IV16
    assert cm.wrap_alg == m.WRAP_AES_ECB_V1
    assert cm.encrypted_data_key == EDK_AES_V1
    assert cm.iv == IV16
    assert cm.context == {"who": "v1"}
    assert cm.unencrypted_length == 1234
    assert cm.message_id is None and cm.commitment is None
    assert not cm.is_kms


def test_parse_v1_rsa_inferred_from_length() -> None:
    cm = m.parse(v1_md(EDK_RSA_V1))
    assert cm.wrap_alg == m.WRAP_RSA_PKCS1_V1
    assert cm.encrypted_data_key == EDK_RSA_V1


def test_parse_v1_boundary_49_bytes_is_rsa() -> None:
    assert m.parse(v1_md(b"\x01" * 48)).wrap_alg == m.WRAP_AES_ECB_V1
    assert m.parse(v1_md(b"\x01" * 49)).wrap_alg == m.WRAP_RSA_PKCS1_V1


def test_parse_v1_explicit_wrap_alg_wins() -> None:
    md = v1_md()
    md["x-amz-wrap-alg"] = "kms"
    cm = m.parse(md)
    assert cm.wrap_alg == "kms"
    assert cm.is_kms


def test_parse_v2_gcm() -> None:
    cm = m.parse(v2_gcm_md())
    assert cm.version is FormatVersion.V2
    assert cm.suite is GCM_IV12_TAG16
    assert cm.wrap_alg == "AES/GCM"
    assert cm.encrypted_data_key == EDK_V2
    assert cm.iv == IV12
    assert cm.context == {"purpose": "tests"}
    assert cm.unencrypted_length is None
    assert cm.instruction_file is False


def test_parse_v2_cbc() -> None:
    cm = m.parse(v2_cbc_md(), instruction_file=True)
    assert cm.version is FormatVersion.V2
    assert cm.suite is CBC_IV16
    assert cm.wrap_alg == "kms"
    assert cm.iv == IV16
    assert cm.context == {"kms_cmk_id": "alias/x"}
    assert cm.instruction_file is True


def test_parse_v2_missing_matdesc_is_empty() -> None:
    assert m.parse(edit("v2gcm", x_amz_matdesc=None)).context == {}


def test_parse_v3_kms() -> None:
    cm = m.parse(v3_kms_md())
    assert cm.version is FormatVersion.V3
    assert cm.suite is GCM_HKDF_COMMIT
    assert cm.wrap_alg == m.WRAP_KMS_CONTEXT
    assert cm.is_kms
    assert cm.encrypted_data_key == EDK_V3
    assert cm.context == {"aws:x-amz-cek-alg": "115", "team": "blue"}
    assert cm.message_id == MSG_ID
    assert cm.commitment == COMMIT
    assert cm.iv is None


def test_parse_v3_raw() -> None:
    cm = m.parse(v3_raw_md())
    assert cm.wrap_alg == m.WRAP_AES_GCM
    assert cm.context == {"key": "2024"}
    assert not cm.is_kms


def test_parse_v3_rsa_code() -> None:
    assert m.parse(edit("v3raw", x_amz_w="22")).wrap_alg == m.WRAP_RSA_OAEP_SHA1


def test_parse_v3_raw_without_matdesc_is_empty() -> None:
    assert m.parse(edit("v3raw", x_amz_m=None)).context == {}


def test_parse_v3_kms_without_context_is_empty() -> None:
    assert m.parse(edit("v3kms", x_amz_t=None)).context == {}


def test_parse_ignores_unrelated_keys() -> None:
    md = v3_raw_md()
    md["color"] = "red"
    assert m.parse(md).context == {"key": "2024"}


# ---------------------------------------------------------------- strict failures


MISSING = [
    ("v1", "x-amz-key"),
    ("v1", "x-amz-iv"),
    ("v2gcm", "x-amz-key-v2"),
    ("v2gcm", "x-amz-iv"),
    ("v2gcm", "x-amz-cek-alg"),
    ("v2gcm", "x-amz-wrap-alg"),
    ("v2gcm", "x-amz-tag-len"),
    ("v2cbc", "x-amz-cek-alg"),
    ("v2cbc", "x-amz-wrap-alg"),
    ("v2cbc", "x-amz-iv"),
    ("v3kms", "x-amz-c"),
    ("v3kms", "x-amz-3"),
    ("v3kms", "x-amz-w"),
    ("v3kms", "x-amz-d"),
    ("v3kms", "x-amz-i"),
    ("v3raw", "x-amz-c"),
    ("v3raw", "x-amz-w"),
    ("v3raw", "x-amz-d"),
    ("v3raw", "x-amz-i"),
]


@pytest.mark.parametrize(("base", "missing"), MISSING, ids=lambda v: str(v))
def test_missing_required_key(base: str, missing: str) -> None:
    md = BUILDERS[base]()
    m.parse(md)  # the complete dict is valid
    del md[missing]
    with pytest.raises(MetadataError, match=r"missing|no wrapped data key") as info:
        m.parse(md)
    if missing not in m.DATA_KEY_NAMES:
        assert missing in str(info.value)


BAD = [
    # keys of two format versions at once
    ("v3+key-v2", "v3raw", {"x-amz-key-v2": b64(EDK_V2)}, "several format versions"),
    ("v2+x-amz-3", "v2gcm", {"x-amz-3": b64(EDK_V3)}, "several format versions"),
    ("v1+key-v2", "v1", {"x-amz-key-v2": b64(EDK_V2)}, "several format versions"),
    ("v1+x-amz-3", "v1", {"x-amz-3": b64(EDK_V3)}, "several format versions"),
    # a V1/V2 key mixed with V3 keys
    ("v2+x-amz-c", "v2gcm", {"x-amz-c": "115"}, "mixes"),
    ("v2+x-amz-d", "v2gcm", {"x-amz-d": b64(COMMIT)}, "mixes"),
    ("v1+x-amz-i", "v1", {"x-amz-i": b64(MSG_ID)}, "mixes"),
    ("v3+x-amz-iv", "v3raw", {"x-amz-iv": b64(IV12)}, "mixes"),
    ("v3+matdesc", "v3raw", {"x-amz-matdesc": "{}"}, "mixes"),
    ("v3+wrap-alg", "v3kms", {"x-amz-wrap-alg": "kms+context"}, "mixes"),
    ("v3+cek-alg", "v3kms", {"x-amz-cek-alg": "AES/GCM/NoPadding"}, "mixes"),
    # bad base64
    ("b64-key-v1", "v1", {"x-amz-key": "not base64!"}, "base64"),
    ("b64-key-v2", "v2gcm", {"x-amz-key-v2": "AAA"}, "base64"),
    ("b64-iv", "v2gcm", {"x-amz-iv": "A*AAAAAAAAAAAAAA"}, "base64"),
    ("b64-key-v3", "v3raw", {"x-amz-3": "%%%%"}, "base64"),
    ("b64-d", "v3raw", {"x-amz-d": b64(COMMIT)[:-1]}, "base64"),
    ("b64-i", "v3kms", {"x-amz-i": "é" * 8}, "base64"),
    ("empty-key", "v2gcm", {"x-amz-key-v2": ""}, "empty"),
    # wrong lengths
    ("iv-16-on-gcm", "v2gcm", {"x-amz-iv": b64(IV16)}, "12 bytes"),
    ("iv-12-on-cbc", "v2cbc", {"x-amz-iv": b64(IV12)}, "16 bytes"),
    ("iv-12-on-v1", "v1", {"x-amz-iv": b64(IV12)}, "16 bytes"),
    ("msgid-27", "v3kms", {"x-amz-i": b64(MSG_ID[:27])}, "28 bytes"),
    ("msgid-29", "v3raw", {"x-amz-i": b64(MSG_ID + b"x")}, "28 bytes"),
    ("commit-27", "v3raw", {"x-amz-d": b64(COMMIT[:27])}, "28 bytes"),
    ("commit-32", "v3kms", {"x-amz-d": b64(COMMIT + b"1234")}, "28 bytes"),
    # bad JSON, non-string values
    ("matdesc-json", "v2gcm", {"x-amz-matdesc": "{"}, "JSON"),
    ("matdesc-list", "v1", {"x-amz-matdesc": "[]"}, "JSON object"),
    ("matdesc-int", "v2cbc", {"x-amz-matdesc": '{"a": 1}'}, "JSON object"),
    ("matdesc-null", "v2gcm", {"x-amz-matdesc": '{"a": null}'}, "JSON object"),
    ("m-nested", "v3raw", {"x-amz-m": '{"a": {"b": "c"}}'}, "JSON object"),
    ("m-string", "v3raw", {"x-amz-m": '"text"'}, "JSON object"),
    ("t-json", "v3kms", {"x-amz-t": "{'a': 'b'}"}, "JSON"),
    ("t-bool", "v3kms", {"x-amz-t": '{"a": true}'}, "JSON object"),
    ("m-deep", "v3raw", {"x-amz-m": "[" * 100_000}, "JSON"),
    # unknown algorithms
    ("unknown-c", "v3kms", {"x-amz-c": "114"}, "content cipher"),
    ("unknown-c-name", "v3raw", {"x-amz-c": "AES/GCM/NoPadding"}, "content cipher"),
    ("unknown-w", "v3raw", {"x-amz-w": "03"}, "wrapping algorithm"),
    ("unknown-w-long", "v3kms", {"x-amz-w": "kms+context"}, "wrapping algorithm"),
    ("unknown-cek", "v2gcm", {"x-amz-cek-alg": "AES/CTR/NoPadding"}, "content cipher"),
    ("unknown-cek-v1", "v1", {"x-amz-cek-alg": "DES"}, "content cipher"),
    ("unknown-wrap", "v2gcm", {"x-amz-wrap-alg": "RSA-OAEP-SHA512"}, "wrapping algorithm"),
    ("unknown-wrap-v1", "v1", {"x-amz-wrap-alg": "rot13"}, "wrapping algorithm"),
    # tag length
    ("tag-96", "v2gcm", {"x-amz-tag-len": "96"}, "tag length"),
    ("tag-bytes", "v2gcm", {"x-amz-tag-len": "16"}, "tag length"),
    ("tag-on-cbc", "v2cbc", {"x-amz-tag-len": "128"}, "tag length"),
    ("tag-on-v1", "v1", {"x-amz-tag-len": "128"}, "tag length"),
    ("tag-zero-on-gcm", "v2gcm", {"x-amz-tag-len": "0"}, "tag length"),
    ("tag-empty-on-gcm", "v2gcm", {"x-amz-tag-len": ""}, "tag length"),
    ("tag-double-zero-on-cbc", "v2cbc", {"x-amz-tag-len": "00"}, "tag length"),
    # contradictions
    ("v1-claims-gcm", "v1", {"x-amz-cek-alg": "AES/GCM/NoPadding", "x-amz-tag-len": "128"}, "V1"),
    ("v3-kms-with-m", "v3kms", {"x-amz-m": "{}"}, "material description"),
    ("v3-raw-with-t", "v3raw", {"x-amz-t": "{}"}, "encryption context"),
    ("length-nan", "v1", {"x-amz-unencrypted-content-length": "ten"}, "not a number"),
    ("length-underscore", "v1", {"x-amz-unencrypted-content-length": "1_0"}, "not a number"),
    ("length-arabic", "v1", {"x-amz-unencrypted-content-length": "\u0661"}, "not a number"),
    ("length-huge", "v1", {"x-amz-unencrypted-content-length": "9" * 21}, "not a number"),
    ("length-negative", "v2gcm", {"x-amz-unencrypted-content-length": "-1"}, "negative"),
]


@pytest.mark.parametrize(
    ("base", "changes", "match"), [b[1:] for b in BAD], ids=[b[0] for b in BAD]
)
def test_bad_metadata(base: str, changes: dict[str, str], match: str) -> None:
    md = BUILDERS[base]()
    m.parse(md)  # valid before the change
    md.update(changes)
    with pytest.raises(MetadataError, match=match) as info:
        m.parse(md)
    assert not isinstance(info.value, InstructionFileError)


def test_no_data_key_at_all() -> None:
    with pytest.raises(MetadataError, match="no wrapped data key"):
        m.parse({"x-amz-iv": b64(IV12), "x-amz-cek-alg": "AES/GCM/NoPadding"})


def test_helpers_detect_encryption_and_instruction_file() -> None:
    assert m.needs_instruction_file({"x-amz-c": "115", "x-amz-d": "x", "x-amz-i": "y"})
    assert not m.needs_instruction_file(v3_raw_md())
    assert not m.needs_instruction_file(v1_md())
    assert m.is_encrypted({"x-amz-d": "x"})
    assert not m.is_encrypted({"content-type": "text/plain", "x-amz-unrelated": "1"})


# ---------------------------------------------------------------- RFC 2047


def rfc2047_b(text: str) -> str:
    return "=?UTF-8?B?" + b64(text.encode("utf-8")) + "?="


def s3_double_encoded(text: str) -> str:
    """What S3 returns for a UTF-8 value: the bytes read as Latin-1, then RFC 2047."""
    return rfc2047_b(text.encode("utf-8").decode("latin-1"))


@pytest.mark.parametrize("text", ["é", "Grüße, Ünïcödé", "日本語", "emoji 🔐", '{"k":"ñ"}'])
def test_decode_rfc2047_plain_utf8(text: str) -> None:
    assert m.decode_rfc2047(rfc2047_b(text)) == text


@pytest.mark.parametrize("text", ["é", "Grüße, Ünïcödé", "日本語", "emoji 🔐", '{"k":"ñ"}'])
def test_decode_rfc2047_double_encoding(text: str) -> None:
    encoded = s3_double_encoded(text)
    assert encoded != rfc2047_b(text)
    assert m.decode_rfc2047(encoded) == text


def test_decode_rfc2047_q_encoding() -> None:
    assert m.decode_rfc2047("=?UTF-8?Q?caf=C3=A9?=") == "café"


@pytest.mark.parametrize("value", ["plain", "", "a=b", '{"a":"b"}', "=?broken"])
def test_decode_rfc2047_leaves_other_values(value: str) -> None:
    assert m.decode_rfc2047(value) == value


@pytest.mark.parametrize("value", ["=?no-such-charset?B?YQ==?=", "=?x?Q?a?=", "=?UTF-8?B?/w==?="])
def test_decode_rfc2047_undecodable_is_returned_unchanged(value: str) -> None:
    assert m.decode_rfc2047(value) == value


@pytest.mark.parametrize(
    "value", ["=?no-such-charset?B?e30=?=", "=?UTF-8?B?/w==?=", "=?UTF-8?B?w?="]
)
def test_undecodable_rfc2047_matdesc_is_metadata_error(value: str) -> None:
    with pytest.raises(MetadataError, match="JSON"):
        m.parse(edit("v2gcm", x_amz_matdesc=value))


@pytest.mark.parametrize("encode", [rfc2047_b, s3_double_encoded], ids=["utf8", "double"])
def test_parse_encoded_matdesc(encode: object) -> None:
    desc = {"owner": "Jürgen", "city": "東京"}
    text = json.dumps(desc, ensure_ascii=False)
    assert callable(encode)
    md = edit("v2gcm", x_amz_matdesc=encode(text))
    assert m.parse(md).context == desc
    md3 = edit("v3raw", x_amz_m=encode(text))
    assert m.parse(md3).context == desc


# ---------------------------------------------------------------- instruction files


def test_parse_instruction_file_valid() -> None:
    values = {"x-amz-3": b64(EDK_V3), "x-amz-w": "02", "x-amz-m": "{}"}
    assert m.parse_instruction_file(json.dumps(values).encode()) == values


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"", "not valid JSON"),
        (b"{", "not valid JSON"),
        (b"\xff\xfe{}", "not valid JSON"),
        (b"[" * 100_000, "not valid JSON"),
        (b"[]", "one JSON object"),
        (b'"x-amz-key-v2"', "one JSON object"),
        (b"42", "one JSON object"),
        (b"null", "one JSON object"),
        (b'{"x-amz-key-v2": "AAAA", "surprise": "1"}', "unknown keys"),
        (b'{"X-Amz-Key-V2": "AAAA"}', "unknown keys"),
        (b'{"x-amz-key-v2": 1}', "strings"),
        (b'{"x-amz-matdesc": {}}', "strings"),
        (b'{"x-amz-tag-len": null}', "strings"),
        (b'{"x-amz-3": "AAAA", "x-amz-c": "115"}', "object metadata only"),
        (b'{"x-amz-3": "AAAA", "x-amz-d": "AAAA"}', "object metadata only"),
        (b'{"x-amz-3": "AAAA", "x-amz-i": "AAAA"}', "object metadata only"),
    ],
)
def test_parse_instruction_file_rejects(body: bytes, match: str) -> None:
    with pytest.raises(InstructionFileError, match=match):
        m.parse_instruction_file(body)


@pytest.mark.parametrize("value", ["", "0", " 0 "])
@pytest.mark.parametrize("builder", [v1_md, v2_cbc_md])
def test_a_cbc_object_may_carry_an_empty_or_zero_tag_length(
    builder: Callable[[], dict[str, str]], value: str
) -> None:
    """Go's V1 client writes ``"x-amz-tag-len": ""`` in CBC instruction files, C++'s
    EncryptionOnly mode ``"0"``: CBC has no tag, so the field changes nothing."""
    md = builder()
    assert m.parse({**md, "x-amz-tag-len": value}) == m.parse(md)


def test_php_numbers_in_an_instruction_file_read_as_their_text() -> None:
    """PHP ``json_encode``s its integers; the values are then checked as strings are."""
    values = v2_gcm_md()
    strings = m.parse_instruction_file(json.dumps(values).encode())
    numbers = {**values, "x-amz-tag-len": 128, "x-amz-unencrypted-content-length": 1234}
    parsed = m.parse_instruction_file(json.dumps(numbers).encode())
    assert parsed == {**strings, "x-amz-unencrypted-content-length": "1234"}
    assert m.parse(parsed).unencrypted_length == 1234
    with pytest.raises(MetadataError, match="tag length"):
        m.parse(m.parse_instruction_file(json.dumps({**numbers, "x-amz-tag-len": 96}).encode()))


@pytest.mark.parametrize(
    "body",
    [
        b'{"x-amz-key-v2": 128}',  # a number only where PHP writes one
        b'{"x-amz-tag-len": true}',
        b'{"x-amz-tag-len": 128.0}',
        b'{"x-amz-unencrypted-content-length": [1]}',
        b'{"x-amz-3": "AAAA", "x-amz-w": 12}',
    ],
)
def test_numbers_elsewhere_are_still_refused(body: bytes) -> None:
    with pytest.raises(InstructionFileError, match="strings"):
        m.parse_instruction_file(body)


def test_php_v1_plaintext_md5_is_ignored() -> None:
    values = {**v2_cbc_md(), "x-amz-unencrypted-content-md5": "ZmFrZQ=="}
    assert m.parse_instruction_file(json.dumps(values).encode()) == v2_cbc_md()


def test_merge_v3_instruction_file() -> None:
    full = v3_raw_md()
    obj = {k: full[k] for k in ("x-amz-c", "x-amz-d", "x-amz-i")}
    obj["content-type"] = "text/plain"  # not an encryption key: dropped from the merge
    instr = {k: full[k] for k in ("x-amz-3", "x-amz-w", "x-amz-m")}
    merged = m.merge_instruction_file(obj, instr)
    assert merged == full
    assert m.parse(merged, instruction_file=True).instruction_file is True


def test_merge_v2_instruction_file_with_marker() -> None:
    obj = {"x-amz-crypto-instr-file": "", "x-amz-unencrypted-content-length": "5"}
    merged = m.merge_instruction_file(obj, v2_gcm_md())
    assert merged == {**v2_gcm_md(), **obj}
    assert m.parse(merged).unencrypted_length == 5


@pytest.mark.parametrize("instr_key", ["x-amz-key", "x-amz-key-v2"])
@pytest.mark.parametrize("object_key", ["x-amz-iv", "x-amz-c", "x-amz-matdesc", "x-amz-d"])
def test_merge_rejects_v1_v2_instruction_file_with_crypto_object_keys(
    instr_key: str, object_key: str
) -> None:
    instr = {instr_key: b64(EDK_V2), "x-amz-wrap-alg": "AES/GCM"}
    with pytest.raises(InstructionFileError, match="V1/V2 instruction file"):
        m.merge_instruction_file({object_key: "AAAA"}, instr)


@pytest.mark.parametrize("key", ["x-amz-3", "x-amz-w", "x-amz-m", "x-amz-t"])
def test_merge_rejects_keys_in_both(key: str) -> None:
    full = v3_raw_md()
    obj = {k: full[k] for k in ("x-amz-c", "x-amz-d", "x-amz-i")}
    obj[key] = "from-object"
    instr = {"x-amz-3": full["x-amz-3"], "x-amz-w": "02", key: "from-instruction"}
    with pytest.raises(InstructionFileError, match="both define") as info:
        m.merge_instruction_file(obj, instr)
    assert key in str(info.value)


# ---------------------------------------------------------------- writing


def v3_content(context: dict[str, str], wrap: str, instruction_file: bool) -> ContentMetadata:
    return ContentMetadata(
        version=FormatVersion.V3,
        suite=GCM_HKDF_COMMIT,
        wrap_alg=wrap,
        encrypted_data_key=os.urandom(60),
        context=context,
        message_id=os.urandom(28),
        commitment=os.urandom(28),
        instruction_file=instruction_file,
    )


def v2_content(context: dict[str, str], wrap: str, instruction_file: bool) -> ContentMetadata:
    return ContentMetadata(
        version=FormatVersion.V2,
        suite=GCM_IV12_TAG16,
        wrap_alg=wrap,
        encrypted_data_key=os.urandom(256),
        context=context,
        iv=os.urandom(12),
        instruction_file=instruction_file,
    )


def read_back(obj: dict[str, str], instr: dict[str, str] | None) -> ContentMetadata:
    """What a reader does with what serialize wrote (instruction file as JSON bytes)."""
    if instr is None:
        return m.parse(obj)
    assert m.needs_instruction_file(obj)
    body = m.instruction_file_body(instr)
    merged = m.merge_instruction_file(obj, m.parse_instruction_file(body))
    return m.parse(merged, instruction_file=True)


V3_CASES = [
    ("AES/GCM", {"purpose": "tests"}, "x-amz-m", "02"),
    ("RSA-OAEP-SHA1", {"k": "v", "a": "b"}, "x-amz-m", "22"),
    ("kms+context", {"aws:x-amz-cek-alg": "115", "team": "x"}, "x-amz-t", "12"),
]


@pytest.mark.parametrize(("wrap", "context", "context_key", "code"), V3_CASES)
def test_serialize_v3_in_metadata(
    wrap: str, context: dict[str, str], context_key: str, code: str
) -> None:
    cm = v3_content(context, wrap, instruction_file=False)
    obj, instr = m.serialize(cm)
    assert instr is None
    assert set(obj) == {"x-amz-c", "x-amz-d", "x-amz-i", "x-amz-3", "x-amz-w", context_key}
    assert obj["x-amz-c"] == "115"
    assert obj["x-amz-w"] == code
    assert json.loads(obj[context_key]) == context
    assert base64.b64decode(obj["x-amz-i"]) == cm.message_id
    assert read_back(obj, instr) == cm


@pytest.mark.parametrize(("wrap", "context", "context_key", "code"), V3_CASES)
def test_serialize_v3_instruction_file(
    wrap: str, context: dict[str, str], context_key: str, code: str
) -> None:
    cm = v3_content(context, wrap, instruction_file=True)
    obj, instr = m.serialize(cm)
    assert instr is not None
    assert set(obj) == {"x-amz-c", "x-amz-d", "x-amz-i"}
    assert set(instr) == {"x-amz-3", "x-amz-w", context_key}
    assert instr["x-amz-w"] == code
    assert base64.b64decode(instr["x-amz-3"]) == cm.encrypted_data_key
    assert base64.b64decode(obj["x-amz-d"]) == cm.commitment
    assert read_back(obj, instr) == cm


@pytest.mark.parametrize("instruction_file", [False, True])
def test_serialize_v3_empty_matdesc_omitted(instruction_file: bool) -> None:
    cm = v3_content({}, "AES/GCM", instruction_file)
    obj, instr = m.serialize(cm)
    written = {**obj, **(instr or {})}
    assert "x-amz-m" not in written and "x-amz-t" not in written
    assert read_back(obj, instr) == cm


@pytest.mark.parametrize("instruction_file", [False, True])
@pytest.mark.parametrize(
    ("wrap", "context"),
    [
        ("AES/GCM", {"purpose": "tests"}),
        ("RSA-OAEP-SHA1", {}),
        ("kms+context", {"aws:x-amz-cek-alg": "AES/GCM/NoPadding"}),
    ],
)
def test_serialize_v2_round_trip(
    wrap: str, context: dict[str, str], instruction_file: bool
) -> None:
    cm = v2_content(context, wrap, instruction_file)
    obj, instr = m.serialize(cm)
    written = instr if instruction_file else obj
    assert written is not None
    assert set(written) == {
        "x-amz-key-v2",
        "x-amz-iv",
        "x-amz-cek-alg",
        "x-amz-tag-len",
        "x-amz-wrap-alg",
        "x-amz-matdesc",
    }
    assert written["x-amz-cek-alg"] == "AES/GCM/NoPadding"
    assert written["x-amz-tag-len"] == "128"
    assert written["x-amz-wrap-alg"] == wrap
    assert json.loads(written["x-amz-matdesc"]) == context
    if instruction_file:
        assert obj == {}
    else:
        assert instr is None
    assert read_back(obj, instr) == cm


def test_serialize_refuses_v1() -> None:
    cm = m.parse(v1_md())
    with pytest.raises(MetadataError):
        m.serialize(cm)


def test_instruction_file_body_is_compact_sorted_json() -> None:
    body = m.instruction_file_body({"x-amz-w": "02", "x-amz-3": "AAAA"})
    assert body == b'{"x-amz-3":"AAAA","x-amz-w":"02"}'


def test_instruction_file_size_is_capped() -> None:

    cap = m.MAX_INSTRUCTION_FILE_SIZE
    valid = json.dumps(v2_gcm_md()).encode()
    padded = valid[:-1] + b" " * (cap - len(valid)) + b"}"
    assert len(padded) == cap and m.parse_instruction_file(padded) == v2_gcm_md()
    with pytest.raises(InstructionFileError, match="more than"):
        m.parse_instruction_file(padded + b" ")
    # The GET's announced length decides before a byte of the body is read.
    with pytest.raises(InstructionFileError, match=str(50 * 2**20)):
        reads.instruction_file_read_limit({"ContentLength": 50 * 2**20})
    assert reads.instruction_file_read_limit({"ContentLength": 10}) == cap + 1
    assert reads.instruction_file_read_limit({}) == cap + 1


@pytest.mark.parametrize("value", ["=?utf-8?b?e30=?=", "=?UTF-8?Q?=7B=7D?=", "x =?utf-8?q?y?= z"])
def test_encoded_word_inside_a_json_value_is_left_alone(value: str) -> None:
    # S3 encodes a whole non-ASCII value; an ASCII value that merely contains an
    # encoded-word is the writer's own text and must survive (else the KMS context or
    # material description read back differs from the one written).
    desc = {"note": value}
    assert m.decode_rfc2047(json.dumps(desc)) == json.dumps(desc)
    assert m.parse(edit("v2gcm", x_amz_matdesc=json.dumps(desc))).context == desc
    assert m.decode_rfc2047(rfc2047_b(json.dumps(desc))) == json.dumps(desc)


def test_dotnet_legacy_instruction_file_reads_as_v1() -> None:
    body = json.dumps({"EncryptedEnvelopeKey": b64(EDK_AES_V1), "IV": b64(IV16)}).encode()
    md = m.parse(m.parse_instruction_file(body), instruction_file=True)
    assert (md.version, md.suite, md.wrap_alg) == (FormatVersion.V1, CBC_IV16, "AES")
    assert (md.encrypted_data_key, md.iv, md.context) == (EDK_AES_V1, IV16, {})


@pytest.mark.parametrize(
    "fields",
    [
        {"EncryptedEnvelopeKey": "AAAA"},
        {"EncryptedEnvelopeKey": "AAAA", "IV": "AAAA", "x-amz-matdesc": "{}"},
        {"EncryptedEnvelopeKey": "AAAA", "x-amz-iv": "AAAA"},
    ],
)
def test_dotnet_fields_only_as_the_whole_legacy_file(fields: dict[str, str]) -> None:
    with pytest.raises(InstructionFileError, match="unknown keys"):
        m.parse_instruction_file(json.dumps(fields).encode())


def test_dotnet_legacy_name_only_for_objects_without_encryption_metadata() -> None:
    plain = {"x-amz-unencrypted-content-length": "5"}
    assert reads.instruction_file_names("k", ".instruction", plain) == [
        "k.instruction",
        "kINSTRUCTION_SUFFIX",
    ]
    v3_object_part = {"x-amz-c": "115", "x-amz-d": "AAAA", "x-amz-i": "AAAA"}
    assert reads.instruction_file_names("k", ".instruction", v3_object_part) == ["k.instruction"]
    assert reads.instruction_file_names("k", ".custom", plain) == ["k.custom"]
