"""Parallel GCM parts are byte-identical to one-shot AES-GCM, and tampering is caught."""

from __future__ import annotations

import itertools
import os
import random

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from s3cse import errors as e
from s3cse.core.ciphers import ContentKey, new_content_key
from s3cse.core.gcm import (
    BLOCK,
    GcmLayout,
    PartDecryptor,
    PartEncryptor,
    PartHash,
    gf_mult,
    gf_pow,
)
from s3cse.core.suites import GCM_HKDF_COMMIT, GCM_IV12_TAG16

SUITES = st.sampled_from([GCM_HKDF_COMMIT, GCM_IV12_TAG16])


def split_points(size: int, seed: int, count: int) -> list[int]:
    rng = random.Random(seed)
    inner = {rng.randint(0, size) // BLOCK * BLOCK for _ in range(count)}
    return sorted({0, size} | inner)


def encrypt_in_parts(
    layout: GcmLayout, plaintext: bytes, cuts: list[int], seed: int
) -> tuple[bytes, list[PartHash]]:
    rng = random.Random(seed)
    ciphertext, parts = bytearray(), []
    for start, end in itertools.pairwise(cuts):
        part = PartEncryptor(layout, start)
        middle = rng.randint(start, end)  # any chunking inside a part
        ciphertext += part.update(plaintext[start:middle]) + part.update(plaintext[middle:end])
        parts.append(part.finalize())
    if not parts:
        parts.append(PartEncryptor(layout, 0).finalize())
    return bytes(ciphertext), parts


def content_key(suite: object) -> ContentKey:
    return new_content_key(suite, os.urandom(32)).content_key  # type: ignore[arg-type]


@settings(max_examples=80, deadline=None)
@given(
    suite=SUITES, size=st.integers(0, 300_000), seed=st.integers(0, 2**32), count=st.integers(0, 6)
)
def test_parts_equal_one_shot_gcm(suite: object, size: int, seed: int, count: int) -> None:
    key = content_key(suite)
    plaintext = random.Random(seed).randbytes(size)
    layout = GcmLayout(key)
    ciphertext, parts = encrypt_in_parts(layout, plaintext, split_points(size, seed, count), seed)
    expected = AESGCM(key.key).encrypt(key.iv, plaintext, key.aad or None)
    assert ciphertext + layout.tag(parts) == expected


@settings(max_examples=60, deadline=None)
@given(
    suite=SUITES,
    size=st.integers(1, 100_000),
    seed=st.integers(0, 2**32),
    count=st.integers(0, 5),
    flip=st.integers(0, 2**32),
)
def test_parts_decrypt_and_detect_any_flipped_bit(
    suite: object, size: int, seed: int, count: int, flip: int
) -> None:
    key = content_key(suite)
    plaintext = random.Random(seed).randbytes(size)
    sealed = AESGCM(key.key).encrypt(key.iv, plaintext, key.aad or None)
    ciphertext, tag = sealed[:-16], sealed[-16:]
    layout = GcmLayout(key)
    cuts = split_points(size, seed + 1, count)

    def decrypt(data: bytes) -> tuple[bytes, list[PartHash]]:
        out, parts = bytearray(), []
        for start, end in itertools.pairwise(cuts):
            part = PartDecryptor(layout, start)
            out += part.update(data[start:end])
            parts.append(part.finalize())
        return bytes(out), parts

    recovered, parts = decrypt(ciphertext)
    assert recovered == plaintext
    layout.verify(parts, tag)
    position = flip % (8 * size)
    tampered = bytearray(ciphertext)
    tampered[position // 8] ^= 1 << (position % 8)
    with pytest.raises(e.TagMismatchError):
        layout.verify(decrypt(bytes(tampered))[1], tag)


@settings(max_examples=40, deadline=None)
@given(
    suite=SUITES, size=st.integers(0, 5000), start=st.integers(0, 5000), seed=st.integers(0, 2**32)
)
def test_ctr_from_any_offset_matches_gcm_ciphertext(
    suite: object, size: int, start: int, seed: int
) -> None:
    key = content_key(suite)
    plaintext = random.Random(seed).randbytes(size)
    ciphertext = AESGCM(key.key).encrypt(key.iv, plaintext, key.aad or None)[:-16]
    start = min(start, size)
    stream = GcmLayout(key).ctr(start)
    assert stream.update(ciphertext[start:]) == plaintext[start:]


@given(x=st.integers(0, 2**128 - 1), y=st.integers(0, 2**128 - 1), z=st.integers(0, 2**128 - 1))
def test_field_laws(x: int, y: int, z: int) -> None:
    one = 1 << 127
    assert gf_mult(x, one) == x
    assert gf_mult(x, y) == gf_mult(y, x)
    assert gf_mult(x, y ^ z) == gf_mult(x, y) ^ gf_mult(x, z)
    assert gf_pow(x, 3) == gf_mult(x, gf_mult(x, x))


def test_unaligned_parts_are_refused() -> None:
    layout = GcmLayout(content_key(GCM_HKDF_COMMIT))
    with pytest.raises(ValueError, match="16-byte"):
        PartEncryptor(layout, 7)
    with pytest.raises(ValueError, match="whole number of blocks"):
        layout.tag([PartHash(0, 17), PartHash(0, 16)])
