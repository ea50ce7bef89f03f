"""Byte ranges of encrypted objects (``core.ranges``): any range a plain S3 object would
answer is answered with the same plaintext bytes, from a ciphertext request S3 accepts;
any range it would refuse is refused."""

from __future__ import annotations

import os
import random
import re

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from s3cse.core import ranges
from s3cse.core.ciphers import ContentKey, GcmEncryptor, new_content_key
from s3cse.core.errors import ConfigurationError, RangeNotSatisfiableError
from s3cse.core.gcm import BLOCK
from s3cse.core.suites import CBC_IV16, GCM_HKDF_COMMIT, GCM_IV12_TAG16, AlgorithmSuite

from .s3_ranges import range_headers, s3_answer

SUITES = st.sampled_from([GCM_IV12_TAG16, GCM_HKDF_COMMIT, CBC_IV16])


class StoredObject:
    """A plaintext encrypted as an S3 encryption client stores it."""

    def __init__(self, suite: AlgorithmSuite, plaintext: bytes) -> None:
        self.plaintext = plaintext
        if suite.authenticated:
            self.key = new_content_key(suite, os.urandom(32)).content_key
            encryptor = GcmEncryptor(self.key)
            self.stored = encryptor.update(plaintext) + encryptor.finalize()
        else:
            self.key = ContentKey(suite, os.urandom(32), os.urandom(16))
            padder = padding.PKCS7(128).padder()
            padded = padder.update(plaintext) + padder.finalize()
            encryptor = Cipher(algorithms.AES(self.key.key), modes.CBC(self.key.iv)).encryptor()
            self.stored = encryptor.update(padded) + encryptor.finalize()

    def cbc_size(self) -> int | None:
        """The plaintext size a reader learns from the last blocks (CBC), as the shells do."""
        if self.key.suite.authenticated:
            return None
        tail = s3_answer(f"bytes=-{min(len(self.stored), 2 * BLOCK)}", len(self.stored))
        assert tail is not None
        blocks = self.stored[tail[0] : tail[1] + 1]
        return ranges.cbc_plaintext_size(self.key, len(self.stored), blocks, self.key.iv)


def read_range(obj: StoredObject, header: str, request: str, seed: int) -> bytes:
    """What a ranged read returns: S3 answers ``request``, the core plans and decrypts."""
    answer = s3_answer(request, len(obj.stored))
    if answer is None:  # S3's own 416: the shells report it as the range's
        raise RangeNotSatisfiableError("S3 refused the ciphertext range")
    first, last = answer
    plan = ranges.plan(
        ranges.ByteRange.parse(header),
        obj.key,
        first,
        last,
        len(obj.stored),
        header,
        obj.cbc_size(),
    )
    decryptor = ranges.RangeDecryptor(obj.key, plan, obj.key.iv)
    data, rng, out = obj.stored[first : last + 1], random.Random(seed), bytearray()
    while data:  # in any chunking
        cut = rng.randint(1, len(data))
        out += decryptor.update(data[:cut])
        data = data[cut:]
    return bytes(out + decryptor.finalize())


@settings(max_examples=300, deadline=None)
@given(
    suite=SUITES,
    plaintext=st.binary(max_size=300),
    data=st.data(),
    seed=st.integers(0, 2**32),
)
def test_a_range_reads_what_s3_would_answer_for_the_plaintext(
    suite: AlgorithmSuite, plaintext: bytes, data: st.DataObject, seed: int
) -> None:
    obj = StoredObject(suite, plaintext)
    header = data.draw(range_headers(len(plaintext)))
    expected = s3_answer(header, len(plaintext))
    flags = [False, True] if suite.authenticated else [False]
    for authenticated in flags:  # the shells ask before they know the suite: False
        request = ranges.ByteRange.parse(header).ciphertext_request(authenticated)
        if expected is None:
            with pytest.raises(RangeNotSatisfiableError, match=r"InvalidRange|refused"):
                read_range(obj, header, request, seed)
            continue
        first, last = expected
        assert read_range(obj, header, request, seed) == plaintext[first : last + 1]


@settings(max_examples=500, deadline=None)
@given(size=st.integers(0, 5000), suite=SUITES, data=st.data())
def test_the_ciphertext_request_covers_the_blocks_the_range_needs(
    size: int, suite: AlgorithmSuite, data: st.DataObject
) -> None:
    """Sizes only, no bytes: the request starts on a block boundary (CTR counters and
    CBC IVs exist only there), one block early for CBC's IV, ends at or past the last
    block needed, and S3 accepts it whenever the plaintext range is satisfiable."""
    header = data.draw(range_headers(size))
    expected = s3_answer(header, size)
    if expected is None:
        return
    first, last = expected
    stored = size + 16 if suite.authenticated else (size // BLOCK + 1) * BLOCK
    for authenticated in [False, True] if suite.authenticated else [False]:
        request = ranges.ByteRange.parse(header).ciphertext_request(authenticated)
        answer = s3_answer(request, stored)
        assert answer is not None, (header, request)
        start, end = answer
        needed_from = first - first % BLOCK - (0 if authenticated else BLOCK)
        assert start <= max(needed_from, 0)
        assert end >= (last if authenticated else last - last % BLOCK + BLOCK - 1)
        if not header.startswith("bytes=-"):
            assert start % BLOCK == 0 and start == max(needed_from, 0)
            asked_last = int(header.split("-")[1] or stored - 1)
            if authenticated:  # GCM: nothing past what was asked
                assert end == min(asked_last, stored - 1)


@given(first=st.integers(0, 2**64), length=st.integers(0, 2**64) | st.none())
def test_well_formed_headers_parse_to_their_numbers(first: int, length: int | None) -> None:
    last = None if length is None else first + length
    header = f"bytes={first}-{'' if last is None else last}"
    assert ranges.ByteRange.parse(header) == ranges.ByteRange(first, last)
    assert ranges.ByteRange.parse(f"bytes=-{first}") == ranges.ByteRange(None, None, first)


@given(first=st.integers(1, 2**64), shortfall=st.integers(1, 2**64))
def test_a_range_ending_before_it_starts_is_refused(first: int, shortfall: int) -> None:
    with pytest.raises(ConfigurationError, match="ends before it starts"):
        ranges.ByteRange.parse(f"bytes={first}-{max(first - shortfall, 0)}")


@given(header=st.text(max_size=30) | st.from_regex(r"bytes=[0-9,\- ]{0,12}", fullmatch=True))
def test_any_other_header_is_refused_as_a_configuration_error(header: str) -> None:
    """Multiple ranges, other units, garbage: a clean refusal, never a crash."""
    try:
        parsed = ranges.ByteRange.parse(header)
    except ConfigurationError:
        return
    assert re.fullmatch(r"bytes=\d*-\d*", header.replace(" ", ""))
    assert parsed.suffix is not None or parsed.first is not None


@settings(max_examples=200, deadline=None)
@given(size=st.integers(0, 200), data=st.data())
def test_resolve_refuses_exactly_what_s3_refuses(size: int, data: st.DataObject) -> None:
    header = data.draw(range_headers(size))
    expected = s3_answer(header, size)
    requested = ranges.ByteRange.parse(header)
    if expected is None:
        with pytest.raises(RangeNotSatisfiableError, match=re.escape(header)):
            ranges.resolve(requested, size, header)
    else:
        assert ranges.resolve(requested, size, header) == expected
