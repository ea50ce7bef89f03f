"""Encryption metadata: parse V1/V2/V3 strictly, and write V2/V3.

The metadata travels as S3 user metadata (``x-amz-meta-`` is added by S3, never by
us) or in an instruction file, a separate object holding one JSON map. Parsing is
deliberately unforgiving: keys of two format versions at once, a V3 content key in an
instruction file, bad base64 or JSON are all errors, because each is a known way to
make a reader skip a check.
"""

from __future__ import annotations

import base64
import binascii
import email.errors
import email.header
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from .errors import InstructionFileError, MetadataError, excerpt
from .suites import (
    CBC_IV16,
    GCM_HKDF_COMMIT,
    AlgorithmSuite,
    FormatVersion,
    suite_for_v2_cipher,
)

# V1 / V2 keys
KEY_V1 = "x-amz-key"
KEY_V2 = "x-amz-key-v2"
IV = "x-amz-iv"
MATDESC = "x-amz-matdesc"
WRAP_ALG = "x-amz-wrap-alg"
CEK_ALG = "x-amz-cek-alg"
TAG_LEN = "x-amz-tag-len"
UNENCRYPTED_LENGTH = "x-amz-unencrypted-content-length"
INSTRUCTION_MARKER = "x-amz-crypto-instr-file"
# V3 keys (compressed names)
CONTENT_CIPHER_V3 = "x-amz-c"
KEY_V3 = "x-amz-3"
MATDESC_V3 = "x-amz-m"
CONTEXT_V3 = "x-amz-t"
WRAP_ALG_V3 = "x-amz-w"
COMMITMENT_V3 = "x-amz-d"
MESSAGE_ID_V3 = "x-amz-i"

V1_V2_KEYS = frozenset({KEY_V1, KEY_V2, IV, MATDESC, WRAP_ALG, CEK_ALG, TAG_LEN})
V3_KEYS = frozenset(
    {CONTENT_CIPHER_V3, KEY_V3, MATDESC_V3, CONTEXT_V3, WRAP_ALG_V3, COMMITMENT_V3, MESSAGE_ID_V3}
)
V3_OBJECT_ONLY_KEYS = frozenset({CONTENT_CIPHER_V3, COMMITMENT_V3, MESSAGE_ID_V3})
ALL_KEYS = V1_V2_KEYS | V3_KEYS | {UNENCRYPTED_LENGTH, INSTRUCTION_MARKER}
DATA_KEY_NAMES = (KEY_V1, KEY_V2, KEY_V3)

NO_TAG_LENGTH = ("", "0")
"""What AES-CBC writers put under ``x-amz-tag-len`` when they put anything: Go's V1
client writes every instruction-file field, empty ones too, and C++'s EncryptionOnly
mode writes ``"0"``. CBC has no tag, so neither can change how the object is read."""
INSTRUCTION_NUMBERS = frozenset({TAG_LEN, UNENCRYPTED_LENGTH})
"""Fields PHP's instruction files hold as JSON numbers (``json_encode`` of its integers);
read as their decimal text, then checked as every other writer's strings are."""
IGNORED_INSTRUCTION_KEYS = frozenset({"x-amz-unencrypted-content-md5"})
"""PHP's V1 client also records an MD5 of the plaintext; nothing reads it."""

DOTNET_LEGACY_FIELDS = {"EncryptedEnvelopeKey": KEY_V1, "IV": IV}
"""The .NET SDK's first encryption client wrote its instruction files with these two
fields only: a V1 object (AES/ECB or RSA/PKCS#1 wrapped key, AES-CBC content, no
material description), named with ``DOTNET_LEGACY_SUFFIX`` after a PutObject and with
the usual suffix after a multipart upload."""
DOTNET_LEGACY_SUFFIX = "INSTRUCTION_SUFFIX"

DEFAULT_INSTRUCTION_SUFFIX = ".instruction"
MAX_INSTRUCTION_FILE_SIZE = 1024 * 1024
"""Instruction files hold a wrapped key and a few short fields (well under 4 KiB, even
with an RSA-4096 wrap and a long material description); anything past 1 MiB is refused
before it is read, so a hostile one cannot exhaust memory."""

# Wrapping algorithms, by their long (V2) names.
WRAP_KMS_CONTEXT = "kms+context"
WRAP_KMS_V1 = "kms"
WRAP_AES_GCM = "AES/GCM"
WRAP_AES_KEYWRAP = "AESWrap"
WRAP_AES_ECB_V1 = "AES"
WRAP_RSA_OAEP_SHA1 = "RSA-OAEP-SHA1"
WRAP_RSA_OAEP_SHA256_V2 = "RSA/ECB/OAEPWithSHA-256AndMGF1Padding"
WRAP_RSA_PKCS1_V1 = "RSA"
KNOWN_WRAP_ALGS = frozenset(
    {
        WRAP_KMS_CONTEXT,
        WRAP_KMS_V1,
        WRAP_AES_GCM,
        WRAP_AES_KEYWRAP,
        WRAP_AES_ECB_V1,
        WRAP_RSA_OAEP_SHA1,
        WRAP_RSA_OAEP_SHA256_V2,
        WRAP_RSA_PKCS1_V1,
    }
)
KMS_WRAP_ALGS = frozenset({WRAP_KMS_CONTEXT, WRAP_KMS_V1})
V3_WRAP_CODES = {"02": WRAP_AES_GCM, "12": WRAP_KMS_CONTEXT, "22": WRAP_RSA_OAEP_SHA1}
V3_WRAP_NAMES = {name: code for code, name in V3_WRAP_CODES.items()}


@dataclass(frozen=True)
class ContentMetadata:
    """What a reader needs to decrypt one object, whatever format it came in."""

    version: FormatVersion
    suite: AlgorithmSuite
    wrap_alg: str
    encrypted_data_key: bytes = field(repr=False)
    context: dict[str, str]
    """KMS encryption context (kms wraps) or material description (raw keyrings)."""
    iv: bytes | None = None
    message_id: bytes | None = None
    commitment: bytes | None = None
    unencrypted_length: int | None = None
    instruction_file: bool = False

    @property
    def is_kms(self) -> bool:
        return self.wrap_alg in KMS_WRAP_ALGS


# ---------------------------------------------------------------- reading


def needs_instruction_file(metadata: Mapping[str, str]) -> bool:
    """No wrapped data key in the object metadata means: look for the instruction file."""
    return not any(name in metadata for name in DATA_KEY_NAMES)


def is_encrypted(metadata: Mapping[str, str]) -> bool:
    """Whether object metadata shows any sign of client-side encryption."""
    return any(name in metadata for name in V1_V2_KEYS | V3_KEYS)


def parse_instruction_file(body: bytes) -> dict[str, str]:
    """An instruction file is one JSON object of S3EC keys to string values (integers
    taken as their text where PHP writes numbers: ``INSTRUCTION_NUMBERS``)."""
    if len(body) > MAX_INSTRUCTION_FILE_SIZE:
        raise instruction_file_too_large(len(body))
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InstructionFileError("instruction file is not valid JSON") from None
    if not isinstance(data, dict):
        raise InstructionFileError("instruction file must hold one JSON object")
    if data.keys() == DOTNET_LEGACY_FIELDS.keys():
        data = {DOTNET_LEGACY_FIELDS[k]: v for k, v in data.items()}
    data = {
        k: decimal_text(v) if k in INSTRUCTION_NUMBERS else v
        for k, v in data.items()
        if k not in IGNORED_INSTRUCTION_KEYS
    }
    unknown = sorted(k for k in data if k not in ALL_KEYS)
    if unknown:
        raise InstructionFileError(f"instruction file holds unknown keys {excerpt(unknown)}")
    if any(not isinstance(v, str) for v in data.values()):
        raise InstructionFileError("instruction file values must all be strings")
    forbidden = sorted(V3_OBJECT_ONLY_KEYS & data.keys())
    if forbidden:
        raise InstructionFileError(
            f"instruction file holds {forbidden}, which belong in the object metadata only"
        )
    return data


def decimal_text(value: object) -> object:
    """A JSON integer as the text other writers store (``128`` -> ``"128"``); anything
    else unchanged, for the string check to judge (``true`` is no number here)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def instruction_file_too_large(size: int | str) -> InstructionFileError:
    return InstructionFileError(
        f"the instruction file has {size} bytes, more than the {MAX_INSTRUCTION_FILE_SIZE} "
        "an instruction file can legitimately need; it was not read"
    )


def merge_instruction_file(
    object_metadata: Mapping[str, str], instruction: Mapping[str, str]
) -> dict[str, str]:
    """Combine object metadata with its instruction file, refusing contradictions."""
    crypto_in_object = {k for k in object_metadata if k in V1_V2_KEYS | V3_KEYS}
    if any(k in instruction for k in (KEY_V1, KEY_V2)) and crypto_in_object:
        raise InstructionFileError(
            "V1/V2 instruction file, yet the object metadata also holds encryption keys "
            f"{sorted(crypto_in_object)}"
        )
    clash = sorted(k for k in instruction if k in crypto_in_object)
    if clash:
        raise InstructionFileError(f"object metadata and instruction file both define {clash}")
    merged = {k: v for k, v in object_metadata.items() if k in ALL_KEYS}
    merged.update(instruction)
    return merged


def parse(metadata: Mapping[str, str], *, instruction_file: bool = False) -> ContentMetadata:
    """Parse (already merged) encryption metadata into ``ContentMetadata``."""
    present = [name for name in DATA_KEY_NAMES if name in metadata]
    if len(present) > 1:
        raise MetadataError(f"metadata holds data keys of several format versions: {present}")
    has_v12 = sorted(k for k in metadata if k in V1_V2_KEYS)
    has_v3 = sorted(k for k in metadata if k in V3_KEYS)
    if has_v12 and has_v3:
        raise MetadataError(f"metadata mixes V1/V2 keys {has_v12} with V3 keys {has_v3}")
    if not present:
        raise MetadataError("metadata holds no wrapped data key")
    if present[0] == KEY_V3:
        return _parse_v3(metadata, instruction_file)
    return _parse_v1_v2(metadata, instruction_file)


def _parse_v3(md: Mapping[str, str], instruction_file: bool) -> ContentMetadata:
    _require(md, (CONTENT_CIPHER_V3, KEY_V3, WRAP_ALG_V3, COMMITMENT_V3, MESSAGE_ID_V3), "V3")
    if md[CONTENT_CIPHER_V3] != GCM_HKDF_COMMIT.id_string:
        raise MetadataError(f"unknown V3 content cipher {excerpt(md[CONTENT_CIPHER_V3])}")
    code = md[WRAP_ALG_V3]
    if code not in V3_WRAP_CODES:
        raise MetadataError(f"unknown V3 wrapping algorithm {excerpt(code)}")
    wrap_alg = V3_WRAP_CODES[code]
    if wrap_alg == WRAP_KMS_CONTEXT:
        if MATDESC_V3 in md:
            raise MetadataError("a KMS-wrapped V3 object must not carry a material description")
        context = _json_map(md.get(CONTEXT_V3, "{}"), CONTEXT_V3)
    else:
        if CONTEXT_V3 in md:
            raise MetadataError("a raw-key V3 object must not carry a KMS encryption context")
        context = _json_map(md.get(MATDESC_V3, "{}"), MATDESC_V3)
    return ContentMetadata(
        version=FormatVersion.V3,
        suite=GCM_HKDF_COMMIT,
        wrap_alg=wrap_alg,
        encrypted_data_key=_b64(md, KEY_V3),
        context=context,
        message_id=_b64(md, MESSAGE_ID_V3, GCM_HKDF_COMMIT.message_id_length),
        commitment=_b64(md, COMMITMENT_V3, GCM_HKDF_COMMIT.commitment_length),
        instruction_file=instruction_file,
    )


def _parse_v1_v2(md: Mapping[str, str], instruction_file: bool) -> ContentMetadata:
    version = FormatVersion.V1 if KEY_V1 in md else FormatVersion.V2
    key_name = KEY_V1 if version is FormatVersion.V1 else KEY_V2
    _require(md, (key_name, IV), version.name)
    if version is FormatVersion.V2:
        _require(md, (CEK_ALG, WRAP_ALG), "V2")
    cek_alg = md.get(CEK_ALG, CBC_IV16.cipher_name)
    suite = suite_for_v2_cipher(cek_alg)
    if suite is None:
        raise MetadataError(f"unknown content cipher {excerpt(cek_alg)}")
    if suite.authenticated:
        if version is FormatVersion.V1:
            raise MetadataError("V1 objects are AES-CBC only, yet this one claims AES-GCM")
        _require(md, (TAG_LEN,), "V2 AES-GCM")
        if md[TAG_LEN] != str(suite.tag_length * 8):
            raise MetadataError(f"unsupported tag length {excerpt(md[TAG_LEN])}: expected 128")
    elif md.get(TAG_LEN, "").strip() not in NO_TAG_LENGTH:
        raise MetadataError("an AES-CBC object must not declare a tag length")
    edk = _b64(md, key_name)
    if WRAP_ALG in md:
        wrap_alg = md[WRAP_ALG]
    else:
        # V1 never stored its wrapping: a raw AES key wrap fits in 48 bytes, RSA does not.
        wrap_alg = WRAP_AES_ECB_V1 if len(edk) <= 48 else WRAP_RSA_PKCS1_V1
    if wrap_alg not in KNOWN_WRAP_ALGS:
        raise MetadataError(f"unknown wrapping algorithm {excerpt(wrap_alg)}")
    length = None
    if UNENCRYPTED_LENGTH in md:
        text = md[UNENCRYPTED_LENGTH].strip()
        if text.startswith("-") and _is_decimal(text[1:]):
            raise MetadataError(f"{UNENCRYPTED_LENGTH} is negative")
        # plain decimal digits only: int() would also take "1_000", "+5" or "١٢"
        if not _is_decimal(text) or len(text) > 20:
            raise MetadataError(f"{UNENCRYPTED_LENGTH} is not a number of bytes")
        length = int(text)
    return ContentMetadata(
        version=version,
        suite=suite,
        wrap_alg=wrap_alg,
        encrypted_data_key=edk,
        context=_json_map(md.get(MATDESC, "{}"), MATDESC),
        iv=_b64(md, IV, suite.iv_length),
        unencrypted_length=length,
        instruction_file=instruction_file,
    )


def _is_decimal(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _require(md: Mapping[str, str], names: tuple[str, ...], what: str) -> None:
    missing = [n for n in names if n not in md]
    if missing:
        raise MetadataError(f"{what} metadata is missing {missing}")


def _b64(md: Mapping[str, str], name: str, length: int | None = None) -> bytes:
    try:
        value = base64.b64decode(md[name].strip(), validate=True)
    except (binascii.Error, ValueError):
        raise MetadataError(f"{name} is not valid base64") from None
    if not value:
        raise MetadataError(f"{name} is empty")
    if length is not None and len(value) != length:
        raise MetadataError(f"{name} must decode to {length} bytes, not {len(value)}")
    return value


def _json_map(text: str, name: str) -> dict[str, str]:
    try:
        data = json.loads(decode_rfc2047(text))
    except (ValueError, RecursionError):
        raise MetadataError(f"{name} is not valid JSON") from None
    if not isinstance(data, dict) or any(
        not isinstance(k, str) or not isinstance(v, str) for k, v in data.items()
    ):
        raise MetadataError(f"{name} must be a JSON object of strings")
    return data


_ENCODED_WORDS = re.compile(r"\s*(?:=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=\s*)+\Z")


def decode_rfc2047(value: str) -> str:
    """Undo S3's encoding of non-ASCII metadata values.

    S3 returns such values as RFC 2047 encoded-words. When the writer sent UTF-8 bytes,
    S3 took them for ISO-8859-1 first, so the decoded text is UTF-8 read as Latin-1
    ("double encoding"); undo that second layer when it is present.
    """
    if not _ENCODED_WORDS.match(value):
        # Only a value made entirely of encoded-words is S3's encoding. Text that merely
        # contains one (an ASCII context value such as "=?utf-8?b?e30=?=" inside the
        # JSON) is what the writer stored, and must reach the checks unchanged.
        return value
    try:
        parts = email.header.decode_header(value)
    except (ValueError, email.errors.HeaderParseError):
        return value
    try:
        text = "".join(
            part.decode(charset or "ascii", errors="strict") if isinstance(part, bytes) else part
            for part, charset in parts
        )
    except (LookupError, UnicodeDecodeError):
        # An unknown charset or bytes that are not in it: leave the value as it came.
        return value
    if all(ord(c) < 256 for c in text) and any(ord(c) > 127 for c in text):
        try:
            return text.encode("latin-1").decode("utf-8")
        except UnicodeDecodeError:
            return text
    return text


# ---------------------------------------------------------------- writing


def encode_json_map(values: Mapping[str, str]) -> str:
    return json.dumps(dict(values), separators=(",", ":"), sort_keys=True)


def serialize(cm: ContentMetadata) -> tuple[dict[str, str], dict[str, str] | None]:
    """Object metadata and, when ``cm.instruction_file``, the instruction file's map."""
    if cm.version is FormatVersion.V3:
        assert cm.message_id is not None and cm.commitment is not None
        content = {
            CONTENT_CIPHER_V3: cm.suite.id_string,
            COMMITMENT_V3: b64(cm.commitment),
            MESSAGE_ID_V3: b64(cm.message_id),
        }
        key = {KEY_V3: b64(cm.encrypted_data_key), WRAP_ALG_V3: V3_WRAP_NAMES[cm.wrap_alg]}
        if cm.context:
            key[CONTEXT_V3 if cm.is_kms else MATDESC_V3] = encode_json_map(cm.context)
        if cm.instruction_file:
            return content, key
        return {**content, **key}, None
    if cm.version is FormatVersion.V2:
        assert cm.iv is not None
        values = {
            KEY_V2: b64(cm.encrypted_data_key),
            IV: b64(cm.iv),
            CEK_ALG: cm.suite.cipher_name,
            TAG_LEN: str(cm.suite.tag_length * 8),
            WRAP_ALG: cm.wrap_alg,
            MATDESC: encode_json_map(cm.context),
        }
        if cm.instruction_file:
            return {}, values
        return values, None
    raise MetadataError("s3cse writes V2 and V3 metadata only")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def instruction_file_body(values: Mapping[str, str]) -> bytes:
    return json.dumps(dict(values), separators=(",", ":"), sort_keys=True).encode("utf-8")
