"""Fuzzing the metadata parser: random maps and mutated valid V1/V2/V3 metadata.

Whatever the map holds, parsing ends in a ``ContentMetadata`` or an ``S3CSEError``;
what parses and s3cse can write serializes back to the same thing.
"""

from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from fuzz.samples import Edit, apply_edits, attempt
from s3cse import metadata, protocol
from s3cse.metadata import ContentMetadata
from s3cse.suites import FormatVersion

from .strategies import FUZZ, edits, random_metadata, seed_metadata


def check_parse(md: dict[str, str], instruction_file: bool) -> None:
    parsed = attempt(lambda: metadata.parse(md, instruction_file=instruction_file))
    object_md = protocol.object_metadata(md)
    attempt(lambda: protocol.parse_object_metadata(object_md))
    if isinstance(parsed, ContentMetadata):
        check_round_trip(parsed)


def check_round_trip(parsed: ContentMetadata) -> None:
    """What parses, and is a format s3cse writes, serializes back to itself."""
    if parsed.version is FormatVersion.V1 or parsed.suite.legacy:
        return
    object_md, instruction = metadata.serialize(parsed)
    again = metadata.parse({**object_md, **(instruction or {})},
                           instruction_file=parsed.instruction_file)
    # V2 writers do not store the plaintext length (the GCM ciphertext gives it)
    assert again == dataclasses.replace(parsed, unencrypted_length=None)


@FUZZ
@given(md=random_metadata, instruction_file=st.booleans())
def test_random_metadata(md: dict[str, str], instruction_file: bool) -> None:
    check_parse(md, instruction_file)


@FUZZ
@given(md=seed_metadata, changes=edits, instruction_file=st.booleans())
def test_mutated_valid_metadata(md: dict[str, str], changes: list[Edit],
                                instruction_file: bool) -> None:
    check_parse(apply_edits(md, changes), instruction_file)


@FUZZ
@given(text=st.text(max_size=200) | st.from_regex(r"=\?[-\w]*\?[bqBQx]?\?[^?]*\?=.*"))
def test_rfc2047_decoding_never_fails(text: str) -> None:
    # S3 hands back non-ASCII metadata as RFC 2047 encoded-words; any text decodes to text
    assert isinstance(metadata.decode_rfc2047(text), str)
