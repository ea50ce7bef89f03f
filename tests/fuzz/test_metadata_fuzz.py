"""Fuzzing the metadata parser: random maps and mutated valid V1/V2/V3 metadata.

Whatever the map holds, parsing ends in a ``ContentMetadata`` or an ``S3CSEError``;
what parses and s3cse can write serializes back to the same thing.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from fuzz.samples import Edit, apply_edits, check_metadata
from s3cse.core import metadata

from .strategies import FUZZ, edits, random_metadata, seed_metadata


@FUZZ
@given(md=random_metadata, instruction_file=st.booleans())
def test_random_metadata(md: dict[str, str], instruction_file: bool) -> None:
    check_metadata(md, instruction_file)


@FUZZ
@given(md=seed_metadata, changes=edits, instruction_file=st.booleans())
def test_mutated_valid_metadata(
    md: dict[str, str], changes: list[Edit], instruction_file: bool
) -> None:
    check_metadata(apply_edits(md, changes), instruction_file)


@FUZZ
@given(text=st.text(max_size=200) | st.from_regex(r"=\?[-\w]*\?[bqBQx]?\?[^?]*\?=.*"))
def test_rfc2047_decoding_never_fails(text: str) -> None:
    # S3 hands back non-ASCII metadata as RFC 2047 encoded-words; any text decodes to text
    assert isinstance(metadata.decode_rfc2047(text), str)
