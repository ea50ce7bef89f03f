"""What the fuzzers share: valid encrypted objects, ways to damage them, and the oracle.

Valid objects are made with s3cse's own writers (V2 and V3, AES, RSA and a KMS stand-in)
and, for the legacy formats s3cse only reads, built here from their byte layouts. A
fuzzer then edits them (metadata fields, instruction files, ciphertext bytes) and hands
them to a reader. Whatever it does, the reader must answer in one of two ways:

* an ``S3CSEError`` (any other exception escaping is a bug), or
* the plaintext, which, for an object whose content is authenticated (AES-GCM read with
  legacy modes off), must be exactly the original: a changed ciphertext never decrypts,
  and metadata changes that still decrypt (fields nothing depends on) change nothing.

Edits are plain data (``Edit``) so Hypothesis strategies and atheris' byte-driven
harnesses produce the same kinds of damage.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import io
import json
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from botocore.exceptions import ClientError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_wrap

from s3cse.client import EncryptionClient
from s3cse.core import envelope, reads
from s3cse.core import metadata as m
from s3cse.core.config import CryptoConfig
from s3cse.core.materials import DefaultMaterialsManager, Keyring, MaterialsManager
from s3cse.core.suites import CommitmentPolicy, FormatVersion
from s3cse.errors import InstructionFileError, S3CSEError
from s3cse.keyrings import AesKeyring, KmsKeyring, RsaKeyPair, RsaKeyring
from s3cse.reader import ObjectReader
from s3cse.transfer import TransferConfig

T = TypeVar("T")

AES_KEY = hashlib.sha256(b"s3cse fuzzing AES wrapping key").digest()
MATDESC = {"purpose": "fuzz"}
ALLOW = CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT
V3_READER = CryptoConfig(commitment_policy=ALLOW)
V2_READER = CryptoConfig(format="v2")  # type: ignore[arg-type]
LEGACY_READER = CryptoConfig(commitment_policy=ALLOW, legacy=True)
PLAINTEXT = b"The quick brown fox jumps over the lazy dog. " * 3 + b"0123456789abc"


# ---------------------------------------------------------------------- keys


@functools.cache
def rsa_private() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class FakeKms:
    """A KMS stand-in with KMS's contract: the encryption context is bound to the
    wrapped key (as AES-GCM AAD here), and a mismatch fails like KMS does."""

    def __init__(self) -> None:
        self._key = hashlib.sha256(b"s3cse fuzzing KMS key").digest()
        self._rng = random.Random(7)

    @staticmethod
    def _aad(context: Mapping[str, str]) -> bytes:
        return json.dumps(dict(context), sort_keys=True).encode()

    def generate_data_key(
        self, *, KeyId: str, KeySpec: str, EncryptionContext: Mapping[str, str]
    ) -> dict[str, Any]:
        data_key, nonce = self._rng.randbytes(32), self._rng.randbytes(12)
        blob = nonce + AESGCM(self._key).encrypt(nonce, data_key, self._aad(EncryptionContext))
        return {"Plaintext": data_key, "CiphertextBlob": blob, "KeyId": KeyId}

    def decrypt(
        self, *, KeyId: str, CiphertextBlob: bytes, EncryptionContext: Mapping[str, str]
    ) -> dict[str, Any]:
        try:
            if len(CiphertextBlob) < 12 + 16:
                raise InvalidTag
            plain = AESGCM(self._key).decrypt(
                CiphertextBlob[:12], CiphertextBlob[12:], self._aad(EncryptionContext)
            )
        except InvalidTag:
            raise ClientError(
                {"Error": {"Code": "InvalidCiphertextException", "Message": "bad ciphertext"}},
                "Decrypt",
            ) from None
        return {"Plaintext": plain, "KeyId": KeyId}


@functools.cache
def keyring(kind: str) -> Keyring:
    if kind == "aes":
        return AesKeyring(AES_KEY, MATDESC)
    if kind == "rsa":
        return RsaKeyring(RsaKeyPair(private_key=rsa_private()), MATDESC)
    if kind == "kms":
        return KmsKeyring("fuzz-key", kms_client=FakeKms())
    if kind == "aes-legacy":  # V1 objects name no key: an unnamed keyring reads them
        return AesKeyring(AES_KEY)
    raise ValueError(kind)


def materials(kind: str) -> MaterialsManager:
    return DefaultMaterialsManager(keyring(kind))


# ---------------------------------------------------------------------- samples


@dataclass(frozen=True)
class Sample:
    """One valid stored object and how to read it."""

    name: str
    plaintext: bytes
    ciphertext: bytes
    metadata: dict[str, str]
    instruction: bytes | None
    keyring: str
    reader: CryptoConfig
    strict: bool
    """Content authenticated (AES-GCM) and read with legacy modes off: tampering with
    the ciphertext must be refused, and any plaintext returned must be the original."""

    def decrypt(
        self,
        ciphertext: bytes | None = None,
        metadata: Mapping[str, str] | None = None,
        instruction: bytes | None = None,
    ) -> bytes:
        return envelope.decrypt_bytes(
            self.ciphertext if ciphertext is None else ciphertext,
            self.metadata if metadata is None else metadata,
            materials(self.keyring),
            self.reader,
            instruction_file=self.instruction if instruction is None else instruction,
            encryption_context=kms_context(self),
        )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _cbc(key: bytes, iv: bytes, plaintext: bytes) -> bytes:
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return encryptor.update(padder.update(plaintext) + padder.finalize()) + encryptor.finalize()


def _v1_cbc(rng: random.Random, plaintext: bytes) -> tuple[bytes, dict[str, str]]:
    """V1: AES-CBC content, data key wrapped with AES/ECB/PKCS5Padding."""
    data_key, iv = rng.randbytes(32), rng.randbytes(16)
    padder = padding.PKCS7(128).padder()
    wrap = Cipher(algorithms.AES(AES_KEY), modes.ECB()).encryptor()
    edk = wrap.update(padder.update(data_key) + padder.finalize()) + wrap.finalize()
    return _cbc(data_key, iv, plaintext), {
        m.KEY_V1: _b64(edk),
        m.IV: _b64(iv),
        m.MATDESC: "{}",
        m.UNENCRYPTED_LENGTH: str(len(plaintext)),
    }


def _v2_aeswrap(rng: random.Random, plaintext: bytes, gcm: bool) -> tuple[bytes, dict[str, str]]:
    data_key = rng.randbytes(32)
    md = {
        m.KEY_V2: _b64(aes_key_wrap(AES_KEY, data_key)),
        m.WRAP_ALG: m.WRAP_AES_KEYWRAP,
        m.MATDESC: "{}",
    }
    if gcm:
        iv = rng.randbytes(12)
        md.update(
            {
                m.IV: _b64(iv),
                m.CEK_ALG: "AES/GCM/NoPadding",
                m.TAG_LEN: "128",
                m.UNENCRYPTED_LENGTH: str(len(plaintext)),
            }
        )
        return AESGCM(data_key).encrypt(iv, plaintext, None), md
    iv = rng.randbytes(16)
    md.update({m.IV: _b64(iv), m.CEK_ALG: "AES/CBC/PKCS5Padding"})
    return _cbc(data_key, iv, plaintext), md


def _written(
    name: str, kind: str, config: CryptoConfig, plaintext: bytes, seed: int, reader: CryptoConfig
) -> Sample:
    rng = random.Random(seed)
    context = {"department": "fuzz"} if kind == "kms" else None
    ciphertext, md, instruction = envelope.encrypt_bytes(
        plaintext, materials(kind), config, context, rng=rng.randbytes
    )
    body = m.instruction_file_body(instruction) if instruction is not None else None
    return Sample(name, plaintext, ciphertext, md, body, kind, reader, strict=True)


@functools.cache
def samples() -> tuple[Sample, ...]:
    """Every kind of valid object, in a fixed order (indexes are stable)."""
    v3 = CryptoConfig()
    v2 = CryptoConfig(format="v2")  # type: ignore[arg-type]
    short = PLAINTEXT[:17]
    out = [
        _written("v3-aes", "aes", v3, PLAINTEXT, 1, V3_READER),
        _written(
            "v3-aes-instruction",
            "aes",
            v3.with_changes(instruction_file=True),
            PLAINTEXT,
            2,
            V3_READER,
        ),
        _written("v3-rsa", "rsa", v3, short, 3, V3_READER),
        _written(
            "v3-rsa-instruction", "rsa", v3.with_changes(instruction_file=True), short, 4, V3_READER
        ),
        _written("v3-kms", "kms", v3, PLAINTEXT, 5, V3_READER),
        _written("v3-empty", "aes", v3, b"", 6, V3_READER),
        _written("v2-aes", "aes", v2, PLAINTEXT, 7, V2_READER),
        _written(
            "v2-aes-instruction", "aes", v2.with_changes(instruction_file=True), short, 8, V2_READER
        ),
        _written("v2-rsa", "rsa", v2, short, 9, V2_READER),
        _written("v2-kms", "kms", v2, PLAINTEXT, 10, V2_READER),
    ]
    rng = random.Random(11)
    ciphertext, md = _v1_cbc(rng, PLAINTEXT)
    out.append(
        Sample(
            "v1-aes-cbc", PLAINTEXT, ciphertext, md, None, "aes-legacy", LEGACY_READER, strict=False
        )
    )
    ciphertext, md = _v2_aeswrap(rng, short, gcm=False)
    out.append(
        Sample(
            "v2-aeswrap-cbc", short, ciphertext, md, None, "aes-legacy", LEGACY_READER, strict=False
        )
    )
    ciphertext, md = _v2_aeswrap(rng, PLAINTEXT, gcm=True)
    # GCM content, but a legacy reader also accepts a downgrade to CBC: not strict
    out.append(
        Sample(
            "v2-aeswrap-gcm",
            PLAINTEXT,
            ciphertext,
            md,
            None,
            "aes-legacy",
            LEGACY_READER,
            strict=False,
        )
    )
    return tuple(out)


def kms_context(sample: Sample) -> dict[str, str] | None:
    return {"department": "fuzz"} if sample.keyring == "kms" else None


def metadata_seeds() -> list[dict[str, str]]:
    """Valid metadata maps: object metadata, instruction files, and the two merged."""
    seeds: list[dict[str, str]] = []
    for sample in samples():
        seeds.append(dict(sample.metadata))
        if sample.instruction is not None:
            instruction = json.loads(sample.instruction)
            seeds.append(instruction)
            seeds.append({**sample.metadata, **instruction})
    return seeds


def instruction_seeds() -> list[bytes]:
    return [s.instruction for s in samples() if s.instruction is not None]


# ---------------------------------------------------------------------- edits

NAMES = (*sorted(m.ALL_KEYS), "x-amz-meta-color", "color", "X-Amz-Key-V2", "x-amz-")
"""Metadata names an edit picks from: every name the format uses, and a few it does not."""
VALUES = (
    "",
    " ",
    "{}",
    "[]",
    "null",
    "0",
    "-1",
    "128",
    "115",
    "02",
    "12",
    "22",
    "AES/GCM",
    "kms+context",
    "AES/CBC/PKCS5Padding",
    "AES/GCM/NoPadding",
    "RSA-OAEP-SHA1",
    "AESWrap",
    "kms",
    "RSA",
    "AES",
    '{"purpose":"fuzz"}',
    '{"a":1}',
    '{"a":{"b":"c"}}',
    "=?utf-8?b?e30=?=",
    "=?utf-8?q?=7B=7D?=",
    "=?x-unknown?b?AAAA?=",
    "=?utf-8?b?////?=",
    "AAAA",
    "AA==",
    "====",
    "\u00e9",
    "\x00",
    "9" * 5000,
    "[" * 3000,
    '{"a":' * 1200,
    "1e999",
    "NaN",
)
"""Values an edit sets: the format's own words, and known troublemakers."""
EDIT_KINDS = ("drop", "set", "flip", "cut", "insert", "rename", "whitespace")


@dataclass(frozen=True)
class Edit:
    """One change to a metadata map: what, at which name, with which value or position."""

    kind: str
    name: str
    value: str = ""
    position: int = 0


def apply_edits(md: Mapping[str, str], edits: Sequence[Edit]) -> dict[str, str]:
    out = dict(md)
    for edit in edits:
        name, current = edit.name, out.get(edit.name)
        if edit.kind == "set" or current is None:
            out[name] = edit.value
        elif edit.kind == "drop":
            del out[name]
        elif edit.kind == "flip":
            out[name] = _flip_value(current, edit.position)
        elif edit.kind == "cut":
            out[name] = current[: edit.position % (len(current) + 1)]
        elif edit.kind == "insert":
            at = edit.position % (len(current) + 1)
            out[name] = current[:at] + edit.value + current[at:]
        elif edit.kind == "rename":
            del out[name]
            out[edit.value or name.upper()] = current
        elif edit.kind == "whitespace":
            out[name] = f" {current}\t"
    return out


def _flip_value(value: str, position: int) -> str:
    """Flip one bit: of the decoded bytes for base64 values, else of one character."""
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError:
        raw = b""
    if raw:
        data = bytearray(raw)
        data[(position // 8) % len(data)] ^= 1 << (position % 8)
        return _b64(bytes(data))
    if not value:
        return "\x01"
    at = position % len(value)
    return value[:at] + chr(ord(value[at]) ^ (1 << (position % 7))) + value[at + 1 :]


CIPHERTEXT_KINDS = ("flip", "cut", "extend", "splice", "swap")


@dataclass(frozen=True)
class ByteEdit:
    """One change to a byte string (ciphertext, instruction file)."""

    kind: str
    position: int
    data: bytes = b""


def apply_byte_edits(data: bytes, edits: Sequence[ByteEdit]) -> bytes:
    out = bytearray(data)
    for edit in edits:
        at = edit.position % (len(out) + 1)
        if edit.kind == "flip" and out:
            out[edit.position // 8 % len(out)] ^= 1 << (edit.position % 8)
        elif edit.kind == "cut":
            del out[at:]
        elif edit.kind == "extend":
            out += edit.data or b"\x00"
        elif edit.kind == "splice":
            out[at:at] = edit.data
        elif edit.kind == "swap" and len(out) >= 32:
            block = edit.position % (len(out) // 16 - 1)
            a, b = block * 16, block * 16 + 16
            out[a:b], out[b : b + 16] = out[b : b + 16], out[a:b]
    return bytes(out)


# ---------------------------------------------------------------------- the oracle


def attempt(call: Callable[[], T]) -> T | S3CSEError:
    """Run a reader: its result, or the s3cse error it raised. Anything else propagates."""
    try:
        return call()
    except S3CSEError as exc:
        return exc


def check_plaintext(
    sample: Sample,
    outcome: bytes | S3CSEError,
    *,
    content_changed: bool,
    intact: bool = False,
    expected: bytes | None = None,
) -> None:
    """The oracle for a decryption of a (possibly damaged) ``sample``.

    ``content_changed``: the ciphertext differs from the sample's. ``intact``: nothing
    at all was changed (for legacy objects, only then is the plaintext known).
    """
    if isinstance(outcome, S3CSEError):
        if intact:
            raise AssertionError(f"{sample.name}: an intact object was refused: {outcome}")
        return
    if not isinstance(outcome, bytes):
        raise AssertionError(f"{sample.name}: a reader returned {type(outcome).__name__}")
    want = sample.plaintext if expected is None else expected
    if sample.strict and content_changed:
        raise AssertionError(f"{sample.name}: altered ciphertext decrypted to {outcome[:40]!r}")
    if (sample.strict or intact) and outcome != want:
        raise AssertionError(
            f"{sample.name}: returned {outcome[:40]!r}, not the original plaintext"
        )


def check_metadata(md: Mapping[str, str], instruction_file: bool) -> None:
    """Parsing any map ends in ``ContentMetadata`` or an ``S3CSEError``; what parses, in a
    format s3cse writes, serializes back to itself."""
    parsed = attempt(lambda: m.parse(md, instruction_file=instruction_file))
    object_md = reads.object_metadata(md)
    attempt(lambda: reads.parse_object_metadata(object_md))
    if not isinstance(parsed, m.ContentMetadata):
        return
    if parsed.version is FormatVersion.V1 or parsed.suite.legacy:
        return
    written, instruction = m.serialize(parsed)
    again = m.parse({**written, **(instruction or {})}, instruction_file=parsed.instruction_file)
    # V2 writers do not store the plaintext length (the GCM ciphertext gives it)
    if again != dataclasses.replace(parsed, unencrypted_length=None):
        raise AssertionError(f"{parsed} serialized and parsed again is {again}")


def check_instruction_file(body: bytes, object_md: Mapping[str, str]) -> None:
    """An instruction file is one JSON object of known keys to strings, or it is refused
    with an ``InstructionFileError``; merged with object metadata only S3CSEErrors escape."""
    parsed = attempt(lambda: m.parse_instruction_file(body))
    if isinstance(parsed, dict):
        if not all(k in m.ALL_KEYS and isinstance(v, str) for k, v in parsed.items()):
            raise AssertionError(f"instruction file parsed to {parsed!r}")
    elif not isinstance(parsed, InstructionFileError):
        raise AssertionError(f"instruction file refused with {parsed!r}")
    attempt(lambda: reads.parse_with_instruction_file(object_md, body))


# ---------------------------------------------------------------------- a bucket in memory

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class MemoryBody(io.BytesIO):
    """A response body: botocore's ``StreamingBody`` reads like a file."""


@dataclass
class MemoryS3:
    """Enough of S3's GetObject / HeadObject / PutObject / ListObjectsV2 for the readers
    and writers, in memory, answering ranges and errors as S3 does (416 InvalidRange, 404
    NoSuchKey)."""

    objects: dict[str, tuple[bytes, dict[str, str]]] = field(default_factory=dict)

    def put_object(
        self,
        *,
        Bucket: str,
        Key: str,
        Body: bytes = b"",
        Metadata: Mapping[str, str] | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        data = Body if isinstance(Body, bytes) else Body.read()
        self.objects[Key] = (data, {k.lower(): v for k, v in (Metadata or {}).items()})
        return {"ETag": self._etag(data)}

    def head_object(self, *, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:
        data, md = self._find(Key, "HeadObject")
        return {"ContentLength": len(data), "Metadata": dict(md), "ETag": self._etag(data)}

    def get_object(
        self,
        *,
        Bucket: str,
        Key: str,
        Range: str | None = None,
        IfMatch: str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        data, md = self._find(Key, "GetObject")
        if IfMatch is not None and IfMatch != self._etag(data):
            raise _client_error("PreconditionFailed", "GetObject")
        response: dict[str, Any] = {"Metadata": dict(md), "ETag": self._etag(data)}
        if Range is not None:
            first, last = _resolve_range(Range, len(data))
            response["ContentRange"] = f"bytes {first}-{last}/{len(data)}"
            data = data[first : last + 1]
        response["ContentLength"] = len(data)
        response["Body"] = MemoryBody(data)
        return response

    def delete_object(self, *, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:
        self.objects.pop(Key, None)
        return {}

    def list_objects_v2(
        self,
        *,
        Bucket: str,
        Prefix: str = "",
        StartAfter: str = "",
        MaxKeys: int = 1000,
        **_: Any,
    ) -> dict[str, Any]:
        keys = sorted(k for k in self.objects if k.startswith(Prefix) and k > StartAfter)
        shown = keys[:MaxKeys]
        return {
            "Contents": [{"Key": k, "Size": len(self.objects[k][0])} for k in shown],
            "KeyCount": len(shown),
            "IsTruncated": len(keys) > len(shown),
        }

    def _find(self, key: str, operation: str) -> tuple[bytes, dict[str, str]]:
        if key not in self.objects:
            raise _client_error("NoSuchKey", operation)
        return self.objects[key]

    @staticmethod
    def _etag(data: bytes) -> str:
        return '"' + hashlib.md5(data).hexdigest() + '"'


def _client_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, operation)


def _resolve_range(header: str, size: int) -> tuple[int, int]:
    match = _RANGE.match(header)
    if not match or match.groups() == ("", ""):
        raise _client_error("InvalidArgument", "GetObject")
    first_text, last_text = match.groups()
    if first_text == "":
        first, last = max(size - int(last_text), 0), size - 1
        if int(last_text) == 0:
            raise _client_error("InvalidRange", "GetObject")
    else:
        first = int(first_text)
        last = size - 1 if last_text == "" else min(int(last_text), size - 1)
    if first >= size:
        raise _client_error("InvalidRange", "GetObject")
    return first, last


def client_for(sample: Sample, bucket: MemoryS3, **options: Any) -> EncryptionClient:
    return EncryptionClient(
        keyring(sample.keyring), s3_client=bucket, config=sample.reader.with_changes(**options)
    )


def store(
    bucket: MemoryS3,
    key: str,
    ciphertext: bytes,
    metadata: Mapping[str, str],
    instruction: bytes | None,
) -> None:
    bucket.put_object(Bucket="fuzz", Key=key, Body=ciphertext, Metadata=metadata)
    if instruction is not None:
        bucket.put_object(Bucket="fuzz", Key=key + m.DEFAULT_INSTRUCTION_SUFFIX, Body=instruction)


WHOLE_READS = ("get", "delayed", "download", "parallel")


def read_through_client(
    sample: Sample,
    ciphertext: bytes,
    metadata: Mapping[str, str],
    instruction: bytes | None,
    how: str,
) -> bytes:
    """Store the object in a ``MemoryS3`` and read it whole with the client: ``get``
    (authenticated before returning), ``delayed`` (streamed), ``download`` (one GET) or
    ``parallel`` (ranged GETs, the tag checked over all of them)."""
    bucket = MemoryS3()
    store(bucket, "object", ciphertext, metadata, instruction)
    context = kms_context(sample)
    if how in ("download", "parallel"):
        sink = io.BytesIO()
        config = TransferConfig(multipart_threshold=0 if how == "parallel" else 8 * 2**20)
        client_for(sample, bucket).download_fileobj(
            "fuzz", "object", sink, ExtraArgs={"EncryptionContext": context}, Config=config
        )
        return sink.getvalue()
    client = client_for(sample, bucket, delayed_authentication=how == "delayed")
    response = client.get_object(Bucket="fuzz", Key="object", EncryptionContext=context)
    with response["Body"] as body:
        data: bytes = body.read()
    return data


def expected_range(plaintext: bytes, header: str) -> bytes | None:
    """What S3 returns for ``header`` on an object holding ``plaintext`` (None: 416)."""
    try:
        first, last = _resolve_range(header, len(plaintext))
    except ClientError:
        return None
    return plaintext[first : last + 1]


def read_range_through_client(
    sample: Sample,
    ciphertext: bytes,
    metadata: Mapping[str, str],
    instruction: bytes | None,
    header: str,
) -> bytes:
    """``get_object(Range=header)`` on the stored object (unauthenticated ranges on)."""
    bucket = MemoryS3()
    store(bucket, "object", ciphertext, metadata, instruction)
    client = client_for(sample, bucket, unauthenticated_ranges=True)
    response = client.get_object(
        Bucket="fuzz", Key="object", Range=header, EncryptionContext=kms_context(sample)
    )
    with response["Body"] as body:
        data: bytes = body.read()
    return data


def read_with_object_reader(
    sample: Sample, bucket: MemoryS3, first: int, last: int, unauthenticated: bool
) -> tuple[bytes, str]:
    """``ObjectReader.read(first, last)`` on the object stored as ``object``; also the
    reader's mode (``indexed``, ``whole`` or ``unauthenticated``)."""
    client = client_for(sample, bucket, unauthenticated_ranges=unauthenticated)
    with ObjectReader(client, "fuzz", "object", encryption_context=kms_context(sample)) as reader:
        return reader.read(first, last), reader.mode
