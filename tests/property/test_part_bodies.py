"""Multipart part bodies (``io.parts``): each part encrypted once, in place, in a reused
buffer that may still hold an earlier part's bytes, then read back as botocore does
(several passes, any read sizes, rewinds) is byte-identical to one-shot AES-GCM, and
the integrity-index MACs are those of the one-shot ciphertext."""

from __future__ import annotations

import itertools
import os
import random

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from s3cse.core.ciphers import ContentKey, new_content_key
from s3cse.core.gcm import BLOCK, GcmLayout
from s3cse.core.integrity import CHUNK_SIZE, ChunkMacer, IndexKey
from s3cse.core.multipart import SentPart
from s3cse.core.suites import GCM_HKDF_COMMIT, GCM_IV12_TAG16
from s3cse.io.parts import PartBody, Upload, tagged_tail

SUITES = st.sampled_from([GCM_HKDF_COMMIT, GCM_IV12_TAG16])


def content_key(suite: object) -> ContentKey:
    return new_content_key(suite, os.urandom(32)).content_key  # type: ignore[arg-type]


def read_like_botocore(body: PartBody, rng: random.Random) -> bytes:
    """Three passes (checksum, payload hash, send), each from a rewind, in random reads."""
    passes = []
    for _ in range(3):
        body.seek(0)
        out = bytearray()
        while piece := body.read(rng.choice([1, 17, 8192, 65536, 1 << 20, -1])):
            out += piece
        passes.append(bytes(out))
    assert body.seek(0, os.SEEK_END) == body.content_length == len(passes[0])
    assert passes[0] == passes[1] == passes[2]
    return passes[0]


@settings(max_examples=60, deadline=None)
@given(
    suite=SUITES,
    blocks_per_part=st.integers(1, 3 * CHUNK_SIZE // BLOCK),
    size=st.integers(0, 400_000),
    indexed=st.booleans(),
    seed=st.integers(0, 2**32),
)
def test_parts_encrypted_in_place_equal_one_shot_gcm(
    suite: object, blocks_per_part: int, size: int, indexed: bool, seed: int
) -> None:
    rng = random.Random(seed)
    key = content_key(suite)
    part_size = blocks_per_part * BLOCK
    if indexed:  # index chunks never straddle parts
        part_size = -(-part_size // CHUNK_SIZE) * CHUNK_SIZE
    index_key = IndexKey(os.urandom(32), b"binding") if indexed else None
    upload = Upload(GcmLayout(key), index_key, None, "bucket", "key", "id", {})
    plaintext = rng.randbytes(size)
    buffers = [bytearray(rng.randbytes(part_size)) for _ in range(2)]  # stale bytes
    offsets = list(range(0, size, part_size)) or [0]
    sent: list[SentPart] = []
    stored = bytearray()
    for number, offset in enumerate(offsets):
        length = min(part_size, size - offset)
        buffer = buffers[number % 2]
        buffer[:length] = plaintext[offset : offset + length]
        body = PartBody(upload, buffer, offset, length)
        if number == len(offsets) - 1:
            tagged_tail(upload, sent, body)
        else:
            body.encrypt()
        stored += read_like_botocore(body, rng)
        sent.append(body.sent("etag"))
    expected = AESGCM(key.key).encrypt(key.iv, plaintext, key.aad or None)
    assert bytes(stored) == expected
    if index_key is not None:
        macer = ChunkMacer(index_key, 0)
        macer.update(expected[:size])
        macs = list(itertools.chain.from_iterable(p.index_macs for p in sent))
        assert macs == macer.finalize()
