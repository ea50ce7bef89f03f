"""The specification's decrypt-side MUSTs, as tests over real S3.

Each case writes an object with s3cse, changes what S3 stores behind the client's back
(the attacker's position), and reads it back: the read must raise the specific s3cse
error and release no plaintext, neither from ``get_object`` nor at a download's
destination. docs/conformance.md lists the same cases; a test keeps the two in step.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from s3cse import KmsKeyring
from s3cse import errors as e

from .. import legacy
from ..conftest import MakeClient
from ..keys import aes_key, aes_keyring

pytestmark = pytest.mark.integration

ALLOW = {"commitment_policy": "REQUIRE_ENCRYPT_ALLOW_DECRYPT"}
LEGACY = {"commitment_policy": "REQUIRE_ENCRYPT_ALLOW_DECRYPT", "legacy": True}
CONTEXT = {"tenant": "acme"}
DOCS = Path(__file__).resolve().parents[2] / "docs" / "conformance.md"


@dataclass
class Stored:
    body: bytes
    metadata: dict[str, str]
    instruction: dict[str, str] | None


@dataclass(frozen=True)
class Case:
    id: str
    writer: str
    """aes-v3, aes-v2, kms-v3, kms-v2, optionally -instr; or legacy-<builder>."""
    mutate: Callable[[Stored], None]
    expected: type[e.S3CSEError]
    reader: dict[str, Any] = field(default_factory=dict)
    context: dict[str, str] | None = None


def add(**values: str) -> Callable[[Stored], None]:
    def change(stored: Stored) -> None:
        stored.metadata.update(values)

    return change


def add_to_instruction(**values: str) -> Callable[[Stored], None]:
    def change(stored: Stored) -> None:
        assert stored.instruction is not None
        stored.instruction.update(values)

    return change


def set_b64(name: str, flip_at: int = 0) -> Callable[[Stored], None]:
    def change(stored: Stored) -> None:
        target = stored.metadata if name in stored.metadata else stored.instruction
        assert target is not None
        raw = bytearray(base64.b64decode(target[name]))
        raw[flip_at] ^= 0x01
        target[name] = base64.b64encode(bytes(raw)).decode()

    return change


def body(change: Callable[[bytes], bytes]) -> Callable[[Stored], None]:
    def mutate(stored: Stored) -> None:
        stored.body = change(stored.body)

    return mutate


def v3_as_v2_aes(stored: Stored) -> None:
    md = stored.metadata
    stored.metadata = {
        "x-amz-key-v2": md["x-amz-3"],
        "x-amz-iv": base64.b64encode(b"\x01" * 12).decode(),
        "x-amz-cek-alg": "AES/GCM/NoPadding",
        "x-amz-tag-len": "128",
        "x-amz-wrap-alg": "AES/GCM",
        "x-amz-matdesc": md.get("x-amz-m", "{}"),
    }


def v3_as_v2_kms(stored: Stored) -> None:
    md = stored.metadata
    stored.metadata = {
        "x-amz-key-v2": md["x-amz-3"],
        "x-amz-iv": base64.b64encode(b"\x01" * 12).decode(),
        "x-amz-cek-alg": "AES/GCM/NoPadding",
        "x-amz-tag-len": "128",
        "x-amz-wrap-alg": "kms+context",
        "x-amz-matdesc": md["x-amz-t"],
    }


def gcm_as_cbc(stored: Stored) -> None:
    stored.metadata["x-amz-cek-alg"] = "AES/CBC/PKCS5Padding"
    del stored.metadata["x-amz-tag-len"]


def v2_keys_in_instruction(stored: Stored) -> None:
    """Format confusion: V2 keys injected through the instruction file of a V3 object."""
    assert stored.instruction is not None
    stored.instruction = {
        "x-amz-key-v2": stored.instruction["x-amz-3"],
        "x-amz-iv": base64.b64encode(b"\x01" * 12).decode(),
        "x-amz-cek-alg": "AES/GCM/NoPadding",
        "x-amz-tag-len": "128",
        "x-amz-wrap-alg": "AES/GCM",
        "x-amz-matdesc": "{}",
    }


def context_json(**values: str) -> str:
    return json.dumps({**values, "aws:x-amz-cek-alg": "115"}, separators=(",", ":"))


V1_V2_ONLY = [
    "x-amz-key",
    "x-amz-key-v2",
    "x-amz-iv",
    "x-amz-matdesc",
    "x-amz-wrap-alg",
    "x-amz-cek-alg",
    "x-amz-tag-len",
]
V3_ONLY = ["x-amz-3", "x-amz-c", "x-amz-d", "x-amz-i", "x-amz-w", "x-amz-m", "x-amz-t"]
SOME_B64 = base64.b64encode(b"\x02" * 16).decode()

CASES = [
    # --- header spoofing
    *[
        Case(f"spoof-v3-plus-{k}", "aes-v3", add(**{k: SOME_B64}), e.MetadataError)
        for k in V1_V2_ONLY
    ],
    *[
        Case(f"spoof-v2-plus-{k}", "aes-v2", add(**{k: SOME_B64}), e.MetadataError, ALLOW)
        for k in V3_ONLY
    ],
    *[
        Case(
            f"spoof-v3-instruction-holds-{k}",
            "aes-v3-instr",
            add_to_instruction(**{k: SOME_B64}),
            e.InstructionFileError,
        )
        for k in ("x-amz-c", "x-amz-d", "x-amz-i")
    ],
    Case(
        "spoof-v3-instruction-holds-v2-keys",
        "aes-v3-instr",
        v2_keys_in_instruction,
        e.InstructionFileError,
        ALLOW,
    ),
    Case(
        "spoof-v2-instruction-and-object-iv",
        "aes-v2-instr",
        add(**{"x-amz-iv": SOME_B64}),
        e.InstructionFileError,
        ALLOW,
    ),
    # --- downgrades
    Case("downgrade-v3-to-v2-aes", "aes-v3", v3_as_v2_aes, e.KeyUnwrapError, ALLOW),
    Case("downgrade-v3-to-v2-kms", "kms-v3", v3_as_v2_kms, e.MetadataError, ALLOW, CONTEXT),
    Case("downgrade-v3-to-v2-default-policy", "aes-v3", v3_as_v2_aes, e.CommitmentPolicyError),
    Case("downgrade-gcm-to-cbc-legacy-off", "aes-v2", gcm_as_cbc, e.MetadataError, ALLOW),
    Case("downgrade-gcm-to-cbc-legacy-on-aes", "aes-v2", gcm_as_cbc, e.MetadataError, LEGACY),
    Case(
        "downgrade-gcm-to-cbc-legacy-on-kms", "kms-v2", gcm_as_cbc, e.MetadataError, LEGACY, CONTEXT
    ),
    Case("policy-require-decrypt-faces-v2", "aes-v2", lambda s: None, e.CommitmentPolicyError),
    Case(
        "legacy-off-faces-v1", "legacy-v1_aes_cbc", lambda s: None, e.LegacyModeDisabledError, ALLOW
    ),
    Case(
        "legacy-off-faces-cbc",
        "legacy-v2_aeswrap_cbc",
        lambda s: None,
        e.LegacyModeDisabledError,
        ALLOW,
    ),
    Case(
        "legacy-off-faces-aeswrap",
        "legacy-v2_aeswrap_gcm",
        lambda s: None,
        e.LegacyModeDisabledError,
        ALLOW,
    ),
    Case(
        "legacy-off-faces-kms",
        "legacy-v2_kms_legacy_gcm",
        lambda s: None,
        e.LegacyModeDisabledError,
        ALLOW,
    ),
    # --- tampering, one value at a time
    Case("tamper-v2-iv", "aes-v2", set_b64("x-amz-iv"), e.TagMismatchError, ALLOW),
    Case("tamper-v2-wrapped-key", "aes-v2", set_b64("x-amz-key-v2", 20), e.KeyUnwrapError, ALLOW),
    Case("tamper-v3-wrapped-key", "aes-v3", set_b64("x-amz-3", 20), e.KeyUnwrapError),
    Case(
        "tamper-v3-kms-wrapped-key",
        "kms-v3",
        set_b64("x-amz-3", 40),
        e.KeyUnwrapError,
        context=CONTEXT,
    ),
    Case("tamper-v3-message-id", "aes-v3", set_b64("x-amz-i"), e.CommitmentMismatchError),
    Case("tamper-v3-commitment", "aes-v3", set_b64("x-amz-d"), e.CommitmentMismatchError),
    Case(
        "tamper-v3-instruction-message-id",
        "aes-v3-instr",
        set_b64("x-amz-i"),
        e.CommitmentMismatchError,
    ),
    Case("tamper-v2-tag-length", "aes-v2", add(**{"x-amz-tag-len": "96"}), e.MetadataError, ALLOW),
    Case(
        "tamper-v2-cek-alg",
        "aes-v2",
        add(**{"x-amz-cek-alg": "AES/CTR/NoPadding"}),
        e.MetadataError,
        ALLOW,
    ),
    Case("tamper-v3-content-cipher", "aes-v3", add(**{"x-amz-c": "114"}), e.MetadataError),
    Case("tamper-v3-wrap-alg-known", "aes-v3", add(**{"x-amz-w": "22"}), e.KeyUnwrapError),
    Case("tamper-v3-wrap-alg-unknown", "aes-v3", add(**{"x-amz-w": "99"}), e.MetadataError),
    Case(
        "tamper-v2-wrap-alg-legacy",
        "aes-v2",
        add(**{"x-amz-wrap-alg": "AESWrap"}),
        e.LegacyModeDisabledError,
        ALLOW,
    ),
    Case(
        "tamper-v2-wrap-alg-legacy-on",
        "aes-v2",
        add(**{"x-amz-wrap-alg": "AESWrap"}),
        e.KeyUnwrapError,
        LEGACY,
    ),
    Case(
        "tamper-v3-material-description",
        "aes-v3",
        add(**{"x-amz-m": '{"key":"other"}'}),
        e.KeyUnwrapError,
    ),
    Case(
        "tamper-v2-material-description",
        "aes-v2",
        add(**{"x-amz-matdesc": '{"key":"other"}'}),
        e.KeyUnwrapError,
        ALLOW,
    ),
    Case(
        "tamper-v3-encryption-context",
        "kms-v3",
        add(**{"x-amz-t": context_json(tenant="evil")}),
        e.EncryptionContextMismatchError,
        context=CONTEXT,
    ),
    Case(
        "tamper-v3-encryption-context-and-caller-agrees",
        "kms-v3",
        add(**{"x-amz-t": context_json(tenant="evil")}),
        e.KeyUnwrapError,
        context={"tenant": "evil"},
    ),
    Case(
        "tamper-v2-encryption-context",
        "kms-v2",
        add(**{"x-amz-matdesc": '{"tenant":"evil","aws:x-amz-cek-alg":"AES/GCM/NoPadding"}'}),
        e.EncryptionContextMismatchError,
        ALLOW,
        CONTEXT,
    ),
    Case(
        "context-on-get-differs",
        "kms-v3",
        lambda s: None,
        e.EncryptionContextMismatchError,
        context={"tenant": "other"},
    ),
    Case(
        "context-on-get-missing",
        "kms-v3",
        lambda s: None,
        e.EncryptionContextMismatchError,
        context={},
    ),
    *[
        Case(
            f"tamper-{fmt}-ciphertext-{name}", f"aes-{fmt}", body(change), e.TagMismatchError, ALLOW
        )
        for fmt in ("v3", "v2")
        for name, change in (
            ("truncated-1", lambda b: b[:-1]),
            ("truncated-16", lambda b: b[:-16]),
            ("extended-1", lambda b: b + b"\x00"),
            ("extended-16", lambda b: b + b"\x00" * 16),
            ("flipped-first", lambda b: bytes([b[0] ^ 1]) + b[1:]),
            ("flipped-tag", lambda b: b[:-1] + bytes([b[-1] ^ 1])),
        )
    ],
]

PLAINTEXT = b"conformance plaintext " * 50


def write(
    make_client: MakeClient, case: Case, s3: Any, kms: Any, kms_key_id: str, bucket: str, key: str
) -> None:
    if case.writer.startswith("legacy-"):
        builder = getattr(legacy, case.writer.removeprefix("legacy-"))
        built = (
            builder(kms, kms_key_id, PLAINTEXT)
            if "kms" in case.writer
            else builder(aes_key(0), PLAINTEXT)
        )
        s3.put_object(Bucket=bucket, Key=key, Body=built[0], Metadata=built[1])
        return
    kind, fmt, *rest = case.writer.split("-")
    keyring = (
        KmsKeyring(kms_key_id, kms_client=kms)
        if kind == "kms"
        else aes_keyring(0, {"key": "conformance"})
    )
    client = make_client(keyring, format=fmt, instruction_file=bool(rest))
    client.put_object(
        Bucket=bucket, Key=key, Body=PLAINTEXT, EncryptionContext=CONTEXT if kind == "kms" else None
    )


def rewrite(case: Case, s3: Any, bucket: str, key: str) -> None:
    obj = s3.get_object(Bucket=bucket, Key=key)
    instruction = None
    if case.writer.endswith("-instr"):
        raw = s3.get_object(Bucket=bucket, Key=key + ".instruction")["Body"].read()
        instruction = json.loads(raw)
    stored = Stored(obj["Body"].read(), dict(obj["Metadata"]), instruction)
    case.mutate(stored)
    s3.put_object(Bucket=bucket, Key=key, Body=stored.body, Metadata=stored.metadata)
    if stored.instruction is not None:
        s3.put_object(
            Bucket=bucket, Key=key + ".instruction", Body=json.dumps(stored.instruction).encode()
        )


def reader_for(make_client: MakeClient, case: Case, s3: Any, kms: Any, kms_key_id: str) -> Any:
    if "kms" in case.writer:
        keyring: Any = KmsKeyring(kms_key_id, kms_client=kms)
    elif case.writer.startswith("legacy-"):
        keyring = aes_keyring(0)
    else:
        keyring = aes_keyring(0, {"key": "conformance"})
    return make_client(keyring, **case.reader)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_decrypt_side_check(
    make_client: MakeClient,
    case: Case,
    s3: Any,
    kms: Any,
    kms_key_id: str,
    bucket: str,
    tmp_path: Path,
) -> None:
    key = f"conformance/{case.id}/{uuid.uuid4().hex[:8]}"
    write(make_client, case, s3, kms, kms_key_id, bucket, key)
    rewrite(case, s3, bucket, key)
    reader = reader_for(make_client, case, s3, kms, kms_key_id)
    context = (
        case.context
        if case.context is not None
        else (CONTEXT if "kms" in case.writer and not case.writer.startswith("legacy") else None)
    )
    with pytest.raises(case.expected) as info:
        reader.get_object(Bucket=bucket, Key=key, EncryptionContext=context)
    assert type(info.value) is case.expected, f"{type(info.value).__name__}: {info.value}"
    assert f"s3://{bucket}/{key}" in str(info.value)
    target = tmp_path / "out.bin"
    with pytest.raises(case.expected):
        reader.download_file(bucket, key, target, EncryptionContext=context)
    assert list(tmp_path.iterdir()) == []


def test_complete_object_metadata_wins_over_a_stray_instruction_file(
    make_client: MakeClient, s3: Any, bucket: str, key_name: str
) -> None:
    """The instruction file is consulted only when the object metadata lacks the key."""
    client = make_client(aes_keyring(0))
    client.put_object(Bucket=bucket, Key=key_name, Body=PLAINTEXT)
    s3.put_object(
        Bucket=bucket,
        Key=key_name + ".instruction",
        Body=json.dumps({"x-amz-3": SOME_B64, "x-amz-w": "02"}).encode(),
    )
    assert client.get_object(Bucket=bucket, Key=key_name)["Body"].read() == PLAINTEXT


def test_docs_list_every_case() -> None:
    documented = set(re.findall(r"^\| `([a-z0-9-]+)` \|", DOCS.read_text(), re.MULTILINE))
    assert documented == {c.id for c in CASES}
