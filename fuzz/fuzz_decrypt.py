"""atheris harness: decryption of damaged objects, by every reader: ``decrypt_bytes``,
and the client's whole, streamed, downloaded, parallel, ranged and random-access reads
of an in-memory bucket. Ciphertext, metadata and instruction file are edited together.
Only ``S3CSEError`` may escape; an authenticated object whose ciphertext changed never
decrypts, and one whose metadata changed decrypts to its plaintext or not at all.

    python fuzz/fuzz_decrypt.py -max_total_time=300
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

if __package__ in (None, ""):  # run as a script: this checkout's fuzz and s3cse packages
    ROOT = Path(__file__).resolve().parents[1]
    sys.path[:0] = [str(ROOT), str(ROOT / "src")]

with atheris.instrument_imports(include=["s3cse"]):
    import s3cse
    import s3cse.core.ranges
    import s3cse.reader
    import s3cse.transfer  # noqa: F401

from fuzz import harness
from fuzz.samples import (
    WHOLE_READS,
    MemoryS3,
    apply_byte_edits,
    apply_edits,
    attempt,
    check_plaintext,
    expected_range,
    read_range_through_client,
    read_through_client,
    read_with_object_reader,
    samples,
    store,
)
from s3cse.errors import S3CSEError

SAMPLES = samples()
READS = ("bytes", *WHOLE_READS, "range", "reader")


def test_one_input(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    sample = SAMPLES[provider.ConsumeIntInRange(0, len(SAMPLES) - 1)]
    how = harness.pick(provider, READS)
    ciphertext = apply_byte_edits(sample.ciphertext, harness.byte_edits(provider))
    md = apply_edits(sample.metadata, harness.edits(provider, 2))
    instruction = sample.instruction
    if instruction is not None and provider.ConsumeBool():
        instruction = apply_byte_edits(instruction, harness.byte_edits(provider, 2))
    changed = ciphertext != sample.ciphertext
    intact = not changed and md == sample.metadata and instruction == sample.instruction
    if how == "bytes":
        outcome = attempt(lambda: sample.decrypt(ciphertext, md, instruction))
        check_plaintext(sample, outcome, content_changed=changed, intact=intact)
    elif how in WHOLE_READS:
        outcome = attempt(lambda: read_through_client(sample, ciphertext, md, instruction, how))
        check_plaintext(sample, outcome, content_changed=changed, intact=intact)
    elif how == "range":
        first = provider.ConsumeIntInRange(0, 300)
        header = f"bytes={first}-{first + provider.ConsumeIntInRange(0, 300)}"
        result = attempt(
            lambda: read_range_through_client(sample, ciphertext, md, instruction, header)
        )
        # unauthenticated by request: only an intact object's answer is known
        refused = isinstance(result, S3CSEError) and "InvalidRange" in str(result)
        if intact and result != expected_range(sample.plaintext, header) and not refused:
            raise AssertionError(f"{sample.name} {header}: {result!r}")
    else:
        bucket = MemoryS3()
        store(bucket, "object", ciphertext, md, instruction)
        first = provider.ConsumeIntInRange(0, 300)
        last = first + provider.ConsumeIntInRange(0, 300)
        read = attempt(
            lambda: read_with_object_reader(sample, bucket, first, last, unauthenticated=False)
        )
        if not isinstance(read, S3CSEError):
            want = sample.plaintext[first : last + 1]
            check_plaintext(sample, read[0], content_changed=changed, intact=intact, expected=want)


def seeds() -> list[bytes]:
    return [bytes([i, j]) * 12 for i in range(len(SAMPLES)) for j in range(len(READS))]


if __name__ == "__main__":
    harness.run("decrypt", test_one_input, seeds())
