"""Telling sidecars from user objects named like them, without I/O (``s3cse.core.sidecars``)."""

from __future__ import annotations

import pytest

from s3cse import errors as e
from s3cse.core.integrity import MAGIC, index_length
from s3cse.core.sidecars import (
    INDEX_SUFFIX,
    INSTRUCTION_SUFFIX,
    Kind,
    kind_of,
    listing_kinds,
    names_listed,
    names_query,
    needs_instruction_file,
    split_name,
    stale_after_write,
)

ENCRYPTED = {"x-amz-c": "115", "x-amz-d": "AA==", "x-amz-i": "AA=="}
INSTRUCTION = b'{"x-amz-3":"AAAA","x-amz-w":"02"}'


def test_names() -> None:
    assert split_name("a/setup.instruction") == ("a/setup", INSTRUCTION_SUFFIX)
    assert split_name("v.mp4.s3cse-index") == ("v.mp4", INDEX_SUFFIX)
    assert split_name(".instruction") is None
    assert split_name("setup") is None


def test_listing_decides_by_name_and_size_and_leaves_the_rest_open() -> None:
    owner_size = 1_000_016
    kinds, undecided = listing_kinds(
        [
            ("a", owner_size),
            ("a.s3cse-index", index_length(owner_size, 16)),  # exactly its owner's index
            ("a.instruction", 300),  # could be either: look
            ("b.instruction", 300),  # no object b listed: all there is
            ("a.x.s3cse-index", 120),  # owner a.x not listed
            ("c", 100),
            ("c.s3cse-index", 999),  # not the size c needs: look
            ("d", 10),
            ("d.instruction", 2 * 1024 * 1024),  # too large for an instruction file
        ]
    )
    assert kinds == {
        "a": Kind.USER_OBJECT,
        "a.s3cse-index": Kind.SIDECAR,
        "b.instruction": Kind.USER_OBJECT,
        "a.x.s3cse-index": Kind.USER_OBJECT,
        "c": Kind.USER_OBJECT,
        "d": Kind.USER_OBJECT,
        "d.instruction": Kind.USER_OBJECT,
    }
    assert undecided == ["a.instruction", "c.s3cse-index"]


def test_listing_remembers_owners_across_pages() -> None:
    seen: dict[str, int] = {}
    listing_kinds([("a", 100)], seen)
    assert listing_kinds([("a.instruction", 50)], seen) == ({}, ["a.instruction"])


@pytest.mark.parametrize(
    ("suffix", "metadata", "data", "kind"),
    [
        (INSTRUCTION_SUFFIX, {}, INSTRUCTION, Kind.SIDECAR),
        (INSTRUCTION_SUFFIX, ENCRYPTED, INSTRUCTION, Kind.USER_OBJECT),  # encrypted itself
        (INSTRUCTION_SUFFIX, {}, b"how to run the installer", Kind.USER_OBJECT),
        (INSTRUCTION_SUFFIX, {}, b'{"name": "value"}', Kind.USER_OBJECT),  # not S3EC fields
        (INSTRUCTION_SUFFIX, {}, b"", Kind.USER_OBJECT),
        (INDEX_SUFFIX, {}, MAGIC + bytes(64), Kind.SIDECAR),
        (INDEX_SUFFIX, {}, b"", Kind.SIDECAR),  # an emptied index: damaged, not a user's
        (INDEX_SUFFIX, {"X-Amz-C": "115", "x-amz-d": "", "x-amz-i": ""}, MAGIC, Kind.USER_OBJECT),
        (INDEX_SUFFIX, {}, b"my own notes", Kind.USER_OBJECT),
    ],
)
def test_content_decides_what_names_and_sizes_leave_open(
    suffix: str, metadata: dict[str, str], data: bytes, kind: Kind
) -> None:
    assert kind_of(suffix, metadata, data) is kind


def test_a_write_refuses_to_overwrite_a_user_object_and_names_stale_sidecars() -> None:
    existing = {INSTRUCTION_SUFFIX: Kind.USER_OBJECT, INDEX_SUFFIX: Kind.SIDECAR}
    with pytest.raises(e.ConfigurationError, match="object of its own") as raised:
        stale_after_write("b", "setup", existing, [INSTRUCTION_SUFFIX])
    assert "s3://b/setup.instruction" in str(raised.value)
    assert stale_after_write("b", "setup", existing, []) == [INDEX_SUFFIX]
    assert stale_after_write("b", "setup", existing, [INDEX_SUFFIX]) == []
    unreadable = {INSTRUCTION_SUFFIX: Kind.UNREADABLE, INDEX_SUFFIX: Kind.ABSENT}
    assert stale_after_write("b", "k", unreadable, []) == [INSTRUCTION_SUFFIX]


def test_which_owners_need_their_instruction_file() -> None:
    assert needs_instruction_file({})  # V2 with an instruction file: no metadata at all
    assert needs_instruction_file(ENCRYPTED)  # V3: the wrapped key is elsewhere
    assert not needs_instruction_file({**ENCRYPTED, "x-amz-3": "AAAA"})
    assert needs_instruction_file({"x-amz-key-v2": "AAAA", "x-amz-crypto-instr-file": ""})


def test_one_listing_shows_which_sidecar_names_exist() -> None:
    names = ["a/b.instruction", "a/b.s3cse-index"]
    query = names_query(names)
    assert query["Prefix"] == "a/b."
    assert query["StartAfter"] < min(names) and min(names).startswith(query["StartAfter"])
    listed = {"Contents": [{"Key": "a/b.instruction"}, {"Key": "a/b.other"}]}
    assert names_listed(names, listed) == {"a/b.instruction"}
    assert names_listed(names, {"KeyCount": 0}) == set()
    # cut short before the last name: only a look at each name can tell
    assert names_listed(names, {**listed, "IsTruncated": True}) is None
    past = {"Contents": [{"Key": "a/b.s3cse-index"}, {"Key": "a/b.t"}], "IsTruncated": True}
    assert names_listed(names, past) == {"a/b.s3cse-index"}
    assert names_query(["x.instruction"])["Prefix"] == "x.instruction"
