"""Properties of the pure core, checked with Hypothesis.

Large plaintexts are drawn as (size, seed) and made with ``random.Random(seed).randbytes``:
Hypothesis' own binary strategy is slow for megabytes and would shrink them badly.
"""

from __future__ import annotations

import base64
import itertools
import json
import random
import string

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from s3cse.core import envelope
from s3cse.core import metadata as m
from s3cse.core.ciphers import GcmDecryptor, GcmEncryptor, content_key_for_decrypt, derive_keys
from s3cse.core.config import CryptoConfig
from s3cse.core.materials import DefaultMaterialsManager, Keyring
from s3cse.core.metadata import ContentMetadata
from s3cse.core.suites import GCM_HKDF_COMMIT, GCM_IV12_TAG16, CommitmentPolicy
from s3cse.errors import (
    CommitmentMismatchError,
    KeyUnwrapError,
    S3CSEError,
    TagMismatchError,
)
from s3cse.keyrings import AesKeyring, RsaKeyPair, RsaKeyring

from ..keys import aes_key, rsa_private

MiB = 1024 * 1024
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def make_bytes(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def split(data: bytes, points: list[int]) -> list[bytes]:
    """Cut ``data`` at the given offsets (any order, duplicates allowed)."""
    cuts = sorted({min(p, len(data)) for p in points})
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


sizes = st.one_of(st.integers(0, 64), st.integers(0, 4096), st.integers(0, MiB))
seeds = st.integers(0, 2**32 - 1)
split_points = st.lists(st.integers(0, MiB), max_size=12)


# ---------------------------------------------------------------- (a) chunking


@SETTINGS
@given(
    size=sizes,
    seed=seeds,
    committing=st.booleans(),
    enc_points=split_points,
    dec_points=split_points,
    small_chunks=st.lists(st.integers(0, 40), max_size=12),
)
def test_gcm_any_chunking(
    size: int,
    seed: int,
    committing: bool,
    enc_points: list[int],
    dec_points: list[int],
    small_chunks: list[int],
) -> None:
    rng = random.Random(seed ^ 0x5A5A)
    plaintext = make_bytes(size, seed)
    data_key = rng.randbytes(32)
    # Scale some cut points into the plaintext so small inputs get cut too.
    enc_points = [p % (size + 1) for p in enc_points] + enc_points
    dec_points = [p % (size + 17) for p in dec_points] + list(_running(small_chunks))
    if committing:
        message_id = rng.randbytes(28)
        key, commitment = derive_keys(GCM_HKDF_COMMIT, data_key, message_id)
        content_key = content_key_for_decrypt(
            GCM_HKDF_COMMIT, data_key, message_id=message_id, commitment=commitment
        )
        expected = AESGCM(key).encrypt(b"\x01" * 12, plaintext, b"\x00\x73")
    else:
        iv = rng.randbytes(12)
        content_key = content_key_for_decrypt(GCM_IV12_TAG16, data_key, iv=iv)
        expected = AESGCM(data_key).encrypt(iv, plaintext, None)

    encryptor = GcmEncryptor(content_key)
    pieces = [encryptor.update(chunk) for chunk in split(plaintext, enc_points)]
    ciphertext = b"".join(pieces) + encryptor.finalize()
    assert ciphertext == expected
    assert encryptor.processed == size

    decryptor = GcmDecryptor(content_key)
    out = [decryptor.update(chunk) for chunk in split(ciphertext, dec_points)]
    assert b"".join(out) + decryptor.finalize() == plaintext


def _running(chunks: list[int]) -> list[int]:
    total, out = 0, []
    for c in chunks:
        total += c
        out.append(total)
    return out


# ---------------------------------------------------------------- (b) envelope round trip


def keyring_for(kind: str, matdesc: dict[str, str]) -> Keyring:
    if kind == "aes":
        return AesKeyring(aes_key(0), matdesc)
    return RsaKeyring(RsaKeyPair(private_key=rsa_private(0)), matdesc)


ALLOW = CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT
READ_CONFIGS = {
    # v3 objects: any policy that writes v3 reads them.
    "v3": [CryptoConfig(), CryptoConfig(commitment_policy=ALLOW)],
    # v2 objects: only policies that allow reading without commitment.
    "v2": [
        CryptoConfig(format="v2"),  # type: ignore[arg-type]
        CryptoConfig(commitment_policy=ALLOW),
        CryptoConfig(format="v2", legacy=True),
    ],  # type: ignore[arg-type]
}

matdescs = st.dictionaries(
    st.text(string.ascii_letters + string.digits + "-_", min_size=1, max_size=10),
    st.text(string.printable, max_size=20),
    max_size=3,
)


@SETTINGS
@given(
    size=sizes,
    seed=seeds,
    kind=st.sampled_from(["aes", "rsa"]),
    fmt=st.sampled_from(["v3", "v2"]),
    instruction_file=st.booleans(),
    matdesc=matdescs,
    read_choice=st.integers(0, 2),
)
def test_envelope_round_trip(
    size: int,
    seed: int,
    kind: str,
    fmt: str,
    instruction_file: bool,
    matdesc: dict[str, str],
    read_choice: int,
) -> None:
    plaintext = make_bytes(size, seed)
    cmm = DefaultMaterialsManager(keyring_for(kind, matdesc))
    write_config = CryptoConfig(format=fmt, instruction_file=instruction_file)  # type: ignore[arg-type]
    ciphertext, obj, instr = envelope.encrypt_bytes(plaintext, cmm, write_config)

    assert len(ciphertext) == size + 16
    if size >= 32:
        assert plaintext not in ciphertext
    assert (instr is not None) == instruction_file
    if instruction_file:
        assert set(obj) == ({"x-amz-c", "x-amz-d", "x-amz-i"} if fmt == "v3" else set())
    stored = {**obj, **(instr or {})}
    assert ("x-amz-3" in stored) == (fmt == "v3")
    assert ("x-amz-key-v2" in stored) == (fmt == "v2")
    body = m.instruction_file_body(instr) if instr is not None else None

    configs = READ_CONFIGS[fmt]
    read_config = configs[read_choice % len(configs)]
    # Another keyring object with the same key and description reads it back.
    reader = DefaultMaterialsManager(keyring_for(kind, matdesc))
    # S3 hands back metadata keys in any case; the reader must not care.
    shouted = {k.upper(): v for k, v in obj.items()}
    assert (
        envelope.decrypt_bytes(ciphertext, shouted, reader, read_config, instruction_file=body)
        == plaintext
    )


# ---------------------------------------------------------------- (c) tampering


def flip_b64(value: str, bit: int) -> str:
    raw = bytearray(base64.b64decode(value))
    bit %= len(raw) * 8
    raw[bit // 8] ^= 1 << (bit % 8)
    return base64.b64encode(bytes(raw)).decode("ascii")


TARGETS = {
    "body": TagMismatchError,
    "tag": TagMismatchError,
    "iv": TagMismatchError,
    "wrapped_key": KeyUnwrapError,
    "message_id": CommitmentMismatchError,
    "commitment": CommitmentMismatchError,
}
METADATA_TARGETS = {
    ("v2", "iv"): "x-amz-iv",
    ("v2", "wrapped_key"): "x-amz-key-v2",
    ("v3", "wrapped_key"): "x-amz-3",
    ("v3", "message_id"): "x-amz-i",
    ("v3", "commitment"): "x-amz-d",
}


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    size=st.integers(1, 64 * 1024),
    seed=seeds,
    kind=st.sampled_from(["aes", "rsa"]),
    fmt=st.sampled_from(["v3", "v2"]),
    instruction_file=st.booleans(),
    target=st.sampled_from(sorted(TARGETS)),
    bit=st.integers(0, 2**20),
)
def test_tampering_is_detected(
    size: int, seed: int, kind: str, fmt: str, instruction_file: bool, target: str, bit: int
) -> None:
    assume((fmt, target) in METADATA_TARGETS or target in ("body", "tag"))
    plaintext = make_bytes(size, seed)
    cmm = DefaultMaterialsManager(keyring_for(kind, {"purpose": "tamper"}))
    write_config = CryptoConfig(format=fmt, instruction_file=instruction_file)  # type: ignore[arg-type]
    read_config = CryptoConfig(commitment_policy=ALLOW)
    ciphertext, obj, instr = envelope.encrypt_bytes(plaintext, cmm, write_config)
    # Untouched, it decrypts.
    body = m.instruction_file_body(instr) if instr is not None else None
    assert (
        envelope.decrypt_bytes(ciphertext, obj, cmm, read_config, instruction_file=body)
        == plaintext
    )

    data = bytearray(ciphertext)
    if target == "body":
        index = bit % (len(data) - 16)
        data[index] ^= 1 << (bit % 8)
    elif target == "tag":
        index = len(data) - 16 + bit % 16
        data[index] ^= 1 << (bit % 8)
    else:
        name = METADATA_TARGETS[(fmt, target)]
        holder = instr if instr is not None and name in instr else obj
        assert name in holder
        holder[name] = flip_b64(holder[name], bit)
    body = m.instruction_file_body(instr) if instr is not None else None

    result = None
    with pytest.raises(S3CSEError) as info:
        result = envelope.decrypt_bytes(bytes(data), obj, cmm, read_config, instruction_file=body)
    assert result is None
    assert isinstance(info.value, TARGETS[target]), (target, type(info.value), info.value)


# ---------------------------------------------------------------- (d) fuzzing the parsers


KNOWN_VALUES = [
    "115",
    "114",
    "12",
    "02",
    "22",
    "03",
    "AES/GCM/NoPadding",
    "AES/CBC/PKCS5Padding",
    "128",
    "96",
    "kms+context",
    "kms",
    "AES/GCM",
    "AESWrap",
    "AES",
    "RSA-OAEP-SHA1",
    "RSA",
    "RSA/ECB/OAEPWithSHA-256AndMGF1Padding",
    "{}",
    "[]",
    "null",
    "",
    " ",
    "-1",
    "0",
    "1e3",
    "=?UTF-8?B?e30=?=",
    "=?utf-8?q?=C3?=",
]


def rfc2047_words() -> st.SearchStrategy[str]:
    charset = st.sampled_from(["UTF-8", "utf-8", "iso-8859-1", "us-ascii", "bogus", "x", ""])
    kind = st.sampled_from(["B", "Q", "b", "q", "Z"])
    payload = st.one_of(
        st.binary(max_size=30).map(lambda b: base64.b64encode(b).decode()),
        st.text(max_size=20),
    )
    return st.builds(
        lambda c, k, p, t: f"=?{c}?{k}?{p}?={t}", charset, kind, payload, st.text(max_size=5)
    )


def json_maps() -> st.SearchStrategy[str]:
    leaf = st.one_of(st.text(max_size=10), st.integers(), st.none(), st.booleans())
    return st.dictionaries(st.text(max_size=10), leaf, max_size=4).map(json.dumps)


HAZARDS = [
    "=?bogus?Q?x?=",
    "=?x?B?e30=?=",
    "=?UTF-8?B?/w==?=",
    "=?UTF-8?B?w?=",
    "[" * 5000,
    '{"a":' * 3000,
    "=?UTF-8?B?e30=?= tail é",
]

values = st.one_of(
    st.sampled_from(HAZARDS),
    st.text(max_size=80),
    st.sampled_from(KNOWN_VALUES),
    st.binary(max_size=300).map(lambda b: base64.b64encode(b).decode()),
    st.sampled_from([12, 16, 28, 48, 60, 256]).map(lambda n: base64.b64encode(bytes(n)).decode()),
    json_maps(),
    rfc2047_words(),
    st.integers(0, 3000).map(lambda n: "{" * n),
)
metadata_dicts = st.dictionaries(
    st.one_of(st.sampled_from(sorted(m.ALL_KEYS)), st.text(max_size=12)), values, max_size=14
)


def valid_bases() -> list[dict[str, str]]:
    """One valid metadata dict per layout (V1, V2, V3 KMS, V3 raw)."""

    def b(n: int) -> str:
        return base64.b64encode(bytes(range(1, n + 1))).decode()

    return [
        {"x-amz-key": b(48), "x-amz-iv": b(16), "x-amz-matdesc": "{}"},
        {
            "x-amz-key-v2": b(60),
            "x-amz-iv": b(12),
            "x-amz-cek-alg": "AES/GCM/NoPadding",
            "x-amz-tag-len": "128",
            "x-amz-wrap-alg": "AES/GCM",
            "x-amz-matdesc": "{}",
        },
        {
            "x-amz-c": "115",
            "x-amz-3": b(60),
            "x-amz-w": "12",
            "x-amz-t": '{"a":"b"}',
            "x-amz-d": b(28),
            "x-amz-i": b(28),
        },
        {
            "x-amz-c": "115",
            "x-amz-3": b(60),
            "x-amz-w": "02",
            "x-amz-m": '{"a":"b"}',
            "x-amz-d": b(28),
            "x-amz-i": b(28),
        },
    ]


def check_parse(md: dict[str, str]) -> None:
    try:
        result = m.parse(md)
    except S3CSEError:
        return
    assert isinstance(result, ContentMetadata)
    assert result.encrypted_data_key
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in result.context.items())


@settings(max_examples=100, deadline=None)
@given(md=metadata_dicts)
def test_parse_fuzz_random(md: dict[str, str]) -> None:
    check_parse(md)


@settings(max_examples=100, deadline=None)
@given(data=st.data(), base=st.sampled_from(valid_bases()))
def test_parse_fuzz_mutated(data: st.DataObject, base: dict[str, str]) -> None:
    """Valid metadata with a key or two replaced, dropped or added: reaches the deep checks."""
    md = dict(base)
    md.update(data.draw(st.dictionaries(st.sampled_from(sorted(base)), values, max_size=2)))
    for key in data.draw(st.sets(st.sampled_from(sorted(m.ALL_KEYS)), max_size=1)):
        md.pop(key, None)
    md.update(data.draw(st.dictionaries(st.sampled_from(sorted(m.ALL_KEYS)), values, max_size=1)))
    check_parse(md)


instruction_bodies = st.one_of(
    st.binary(max_size=200),
    metadata_dicts.map(lambda d: json.dumps(d).encode()),
    st.dictionaries(
        st.sampled_from(sorted(m.ALL_KEYS)),
        st.one_of(
            st.text(max_size=10), st.integers(), st.none(), st.lists(st.integers(), max_size=2)
        ),
        max_size=6,
    ).map(lambda d: json.dumps(d).encode()),
    st.integers(0, 5000).map(lambda n: b"[" * n),
    st.text(max_size=100).map(lambda t: t.encode("utf-8")),
)


@settings(max_examples=100, deadline=None)
@given(body=instruction_bodies, obj=metadata_dicts)
def test_instruction_file_fuzz(body: bytes, obj: dict[str, str]) -> None:
    try:
        data = m.parse_instruction_file(body)
    except S3CSEError:
        return
    assert isinstance(data, dict)
    assert all(isinstance(v, str) for v in data.values())
    assert not (set(data) & m.V3_OBJECT_ONLY_KEYS)
    try:
        merged = m.merge_instruction_file(obj, data)
    except S3CSEError:
        return
    check_parse(merged)


@settings(max_examples=100, deadline=None)
@given(value=st.one_of(rfc2047_words(), st.text(max_size=40)))
def test_decode_rfc2047_total(value: str) -> None:
    assert isinstance(m.decode_rfc2047(value), str)


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=40))
def test_rfc2047_double_encoding_inverts(text: str) -> None:
    latin = text.encode("utf-8").decode("latin-1")
    encoded = "=?UTF-8?B?" + base64.b64encode(latin.encode("utf-8")).decode() + "?="
    assert m.decode_rfc2047(encoded) == text
