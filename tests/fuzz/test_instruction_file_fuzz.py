"""Fuzzing the instruction-file parser: random bytes, random JSON, mutated valid files.

A body that is not one JSON object of known keys to strings is refused with an
``InstructionFileError``; merged with the object's metadata, only ``S3CSEError``s escape.
"""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from fuzz.samples import (
    ByteEdit,
    Edit,
    Sample,
    apply_byte_edits,
    apply_edits,
    check_instruction_file,
    samples,
)
from s3cse.core import metadata

from .strategies import FUZZ, byte_edits, edits, json_values, random_metadata

WITH_INSTRUCTION = [s for s in samples() if s.instruction is not None]
instruction_samples = st.sampled_from(WITH_INSTRUCTION)


@FUZZ
@given(body=st.binary(max_size=300), object_md=random_metadata)
def test_random_bytes(body: bytes, object_md: dict[str, str]) -> None:
    check_instruction_file(body, object_md)


@FUZZ
@given(
    text=json_values | st.dictionaries(st.text(max_size=20), json_values).map(json.dumps),
    sample=instruction_samples,
)
def test_random_json(text: str, sample: Sample) -> None:
    check_instruction_file(text.encode("utf-8", "surrogatepass"), dict(sample.metadata))


@FUZZ
@given(sample=instruction_samples, changes=byte_edits)
def test_mutated_valid_file_bytes(sample: Sample, changes: list[ByteEdit]) -> None:
    assert sample.instruction is not None
    body = apply_byte_edits(sample.instruction, changes)
    check_instruction_file(body, dict(sample.metadata))


@FUZZ
@given(
    sample=instruction_samples,
    changes=edits,
    object_changes=st.lists(
        st.builds(
            Edit,
            st.sampled_from(["set", "drop"]),
            st.sampled_from(sorted(metadata.ALL_KEYS)),
            st.just("AAAA"),
        ),
        max_size=2,
    ),
)
def test_mutated_valid_file_fields(
    sample: Sample, changes: list[Edit], object_changes: list[Edit]
) -> None:
    assert sample.instruction is not None
    fields = apply_edits(json.loads(sample.instruction), changes)
    object_md = apply_edits(sample.metadata, object_changes)
    check_instruction_file(json.dumps(fields).encode(), object_md)
