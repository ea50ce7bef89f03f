"""Fuzzing decryption: damaged ciphertext, metadata and instruction files, read in memory,
in chunks, and through the client (whole, streamed, downloaded, ranged, random access).

An authenticated object (AES-GCM, legacy modes off) whose ciphertext changed never
decrypts; one whose metadata changed either fails or yields the original plaintext.
Legacy AES-CBC objects cannot be authenticated: for them only the first half holds,
that nothing but an ``S3CSEError`` escapes.
"""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from fuzz.samples import (
    WHOLE_READS,
    ByteEdit,
    Edit,
    MemoryS3,
    Sample,
    apply_byte_edits,
    apply_edits,
    attempt,
    check_plaintext,
    client_for,
    expected_range,
    kms_context,
    materials,
    read_range_through_client,
    read_through_client,
    read_with_object_reader,
    samples,
    store,
)
from s3cse.core import envelope, reads
from s3cse.core import metadata as m
from s3cse.core.ciphers import content_decryptor
from s3cse.errors import S3CSEError, TagMismatchError

from .strategies import FUZZ, byte_edits, edits

all_samples = st.sampled_from(samples())
instruction_samples = st.sampled_from([s for s in samples() if s.instruction is not None])
cuts = st.lists(st.integers(0, 200), max_size=8)


@FUZZ
@given(sample=all_samples, changes=edits)
def test_mutated_metadata(sample: Sample, changes: list[Edit]) -> None:
    md = apply_edits(sample.metadata, changes)
    check_plaintext(
        sample,
        attempt(lambda: sample.decrypt(metadata=md)),
        content_changed=False,
        intact=md == sample.metadata,
    )


@FUZZ
@given(sample=all_samples, changes=byte_edits)
def test_mutated_ciphertext(sample: Sample, changes: list[ByteEdit]) -> None:
    ciphertext = apply_byte_edits(sample.ciphertext, changes)
    check_plaintext(
        sample,
        attempt(lambda: sample.decrypt(ciphertext=ciphertext)),
        content_changed=ciphertext != sample.ciphertext,
        intact=ciphertext == sample.ciphertext,
    )


@FUZZ
@given(sample=instruction_samples, changes=edits, raw=byte_edits, use_raw=st.booleans())
def test_mutated_instruction_file(
    sample: Sample, changes: list[Edit], raw: list[ByteEdit], use_raw: bool
) -> None:
    assert sample.instruction is not None
    if use_raw:
        body = apply_byte_edits(sample.instruction, raw)
    else:
        body = json.dumps(apply_edits(json.loads(sample.instruction), changes)).encode()
    check_plaintext(
        sample,
        attempt(lambda: sample.decrypt(instruction=body)),
        content_changed=False,
        intact=body == sample.instruction,
    )


@FUZZ
@given(sample=all_samples, changes=byte_edits, tamper=st.booleans(), points=cuts)
def test_chunked_decryption(
    sample: Sample, changes: list[ByteEdit], tamper: bool, points: list[int]
) -> None:
    """The incremental decryptors, fed the ciphertext in arbitrary pieces."""
    ciphertext = apply_byte_edits(sample.ciphertext, changes) if tamper else sample.ciphertext

    def decrypt() -> bytes:
        object_md = reads.object_metadata(sample.metadata)
        md = reads.parse_object_metadata(object_md)
        if md is None:
            assert sample.instruction is not None
            md = reads.parse_with_instruction_file(object_md, sample.instruction)
        key = envelope.unwrap_content_key(
            md, materials(sample.keyring), sample.reader, kms_context(sample)
        )
        decryptor = content_decryptor(key)
        bounds = sorted({0, len(ciphertext), *(p % (len(ciphertext) + 1) for p in points)})
        out = [decryptor.update(ciphertext[a:b]) for a, b in itertools.pairwise(bounds)]
        return b"".join(out) + decryptor.finalize()

    changed = ciphertext != sample.ciphertext
    check_plaintext(sample, attempt(decrypt), content_changed=changed, intact=not changed)


@FUZZ
@given(
    sample=all_samples,
    how=st.sampled_from(WHOLE_READS),
    changes=byte_edits,
    md_changes=edits,
    tamper=st.sampled_from(["none", "content", "metadata"]),
)
def test_whole_reads_through_client(
    sample: Sample, how: str, changes: list[ByteEdit], md_changes: list[Edit], tamper: str
) -> None:
    ciphertext = (
        apply_byte_edits(sample.ciphertext, changes) if tamper == "content" else sample.ciphertext
    )
    md = apply_edits(sample.metadata, md_changes) if tamper == "metadata" else sample.metadata
    outcome = attempt(lambda: read_through_client(sample, ciphertext, md, sample.instruction, how))
    check_plaintext(
        sample,
        outcome,
        content_changed=ciphertext != sample.ciphertext,
        intact=ciphertext == sample.ciphertext and md == sample.metadata,
    )


range_headers = st.one_of(
    st.builds(lambda a, b: f"bytes={a}-{a + b}", st.integers(0, 260), st.integers(0, 260)),
    st.builds(lambda a: f"bytes={a}-", st.integers(0, 260)),
    st.builds(lambda n: f"bytes=-{n}", st.integers(1, 260)),
)


@FUZZ
@given(sample=all_samples, header=range_headers, changes=byte_edits, tamper=st.booleans())
def test_unauthenticated_ranges(
    sample: Sample, header: str, changes: list[ByteEdit], tamper: bool
) -> None:
    """Ranges cannot be checked against the tag (the caller allowed that): they must
    still fail cleanly, and match S3's answer for the plaintext when nothing changed."""
    ciphertext = apply_byte_edits(sample.ciphertext, changes) if tamper else sample.ciphertext
    outcome = attempt(
        lambda: read_range_through_client(
            sample, ciphertext, sample.metadata, sample.instruction, header
        )
    )
    if ciphertext == sample.ciphertext:
        want = expected_range(sample.plaintext, header)
        if want is None:
            assert isinstance(outcome, S3CSEError) and "InvalidRange" in str(outcome), outcome
        else:
            assert outcome == want, (header, outcome)


@FUZZ
@given(
    sample=st.sampled_from([s for s in samples() if s.strict]),
    first=st.integers(0, 300),
    length=st.integers(0, 300),
    changes=byte_edits,
    tamper_index=st.booleans(),
    indexed=st.booleans(),
)
def test_random_access_reads(
    sample: Sample,
    first: int,
    length: int,
    changes: list[ByteEdit],
    tamper_index: bool,
    indexed: bool,
) -> None:
    """``ObjectReader`` (what s3cse:// files read through) on an authenticated object:
    through its integrity index, or by verifying the whole object. A read returns the
    original bytes or fails, whatever was damaged."""
    bucket = MemoryS3()
    writer = client_for(sample, bucket)
    writer.put_object(
        Bucket="fuzz",
        Key="object",
        Body=sample.plaintext,
        EncryptionContext=kms_context(sample),
        IntegrityIndex=indexed,
        InstructionFile=sample.instruction is not None,
    )
    target = "object.s3cse-index" if indexed and tamper_index else "object"
    data, md = bucket.objects[target]
    damaged = apply_byte_edits(data, changes)
    assume(damaged != data)
    bucket.objects[target] = (damaged, md)
    outcome = attempt(
        lambda: read_with_object_reader(
            sample, bucket, first, first + length, unauthenticated=False
        )
    )
    if not isinstance(outcome, S3CSEError):
        data, mode = outcome
        # an index damaged so that it names another version is stale: set aside, and the
        # whole object verified instead
        allowed = (
            {"indexed", "whole"}
            if indexed and tamper_index
            else {"indexed" if indexed else "whole"}
        )
        assert mode in allowed
        assert data == sample.plaintext[first : first + length + 1]


@FUZZ
@given(
    sample=all_samples,
    first=st.integers(0, 300),
    length=st.integers(0, 300),
    changes=byte_edits,
    tamper=st.booleans(),
)
def test_unauthenticated_random_access(
    sample: Sample, first: int, length: int, changes: list[ByteEdit], tamper: bool
) -> None:
    bucket = MemoryS3()
    ciphertext = apply_byte_edits(sample.ciphertext, changes) if tamper else sample.ciphertext
    store(bucket, "object", ciphertext, sample.metadata, sample.instruction)
    outcome = attempt(
        lambda: read_with_object_reader(sample, bucket, first, first + length, unauthenticated=True)
    )
    if ciphertext == sample.ciphertext:
        assert not isinstance(outcome, S3CSEError), outcome
        assert outcome[0] == sample.plaintext[first : first + length + 1]


def test_memory_bucket_reads_back_every_sample() -> None:
    """The oracle's own footing: every sample decrypts, in memory and through the client."""
    for sample in samples():
        assert sample.decrypt() == sample.plaintext
        for how in WHOLE_READS:
            assert (
                read_through_client(
                    sample, sample.ciphertext, sample.metadata, sample.instruction, how
                )
                == sample.plaintext
            )


@pytest.mark.parametrize("cut", [1, 16, 17, 40])
def test_random_access_past_a_truncated_end_is_refused(cut: int) -> None:
    """Without an index the size is unauthenticated: a read at or past the (shortened)
    end still verifies the whole object first, and an object shorter than its tag is
    refused when the reader opens."""
    sample = samples()[0]
    bucket = MemoryS3()
    store(bucket, "object", sample.ciphertext[:-cut], sample.metadata, None)
    end = len(sample.plaintext) + 10
    with pytest.raises(TagMismatchError):
        read_with_object_reader(sample, bucket, end, end + 5, unauthenticated=False)
    store(bucket, "object", sample.ciphertext[: min(cut, 15)], sample.metadata, None)
    with pytest.raises(TagMismatchError, match="shorter than its authentication tag"):
        read_with_object_reader(sample, bucket, 0, 0, unauthenticated=False)


@FUZZ
@given(
    sample=st.sampled_from([s for s in samples() if m.UNENCRYPTED_LENGTH in s.metadata]),
    claimed=st.integers(0, 400),
    header=range_headers,
    first=st.integers(0, 300),
    how=st.sampled_from(["range", "reader", "delayed"]),
)
def test_claimed_length_never_shapes_output(
    sample: Sample, claimed: int, header: str, first: int, how: str
) -> None:
    """``x-amz-unencrypted-content-length`` is unauthenticated: whatever it claims, a read
    returns the true bytes or fails; it never cuts them short or stretches them."""
    md = {**sample.metadata, m.UNENCRYPTED_LENGTH: str(claimed)}
    if how == "range":
        want = expected_range(sample.plaintext, header)
        outcome = attempt(
            lambda: read_range_through_client(sample, sample.ciphertext, md, None, header)
        )
    elif how == "reader":
        bucket = MemoryS3()
        store(bucket, "object", sample.ciphertext, md, None)
        want = sample.plaintext[first:]
        read = attempt(
            lambda: read_with_object_reader(sample, bucket, first, 10**6, unauthenticated=True)
        )
        outcome = read if isinstance(read, S3CSEError) else read[0]
    else:
        want = sample.plaintext
        outcome = attempt(
            lambda: read_through_client(sample, sample.ciphertext, md, None, "delayed")
        )
    assert isinstance(outcome, S3CSEError) or outcome == want, (claimed, how, header)
