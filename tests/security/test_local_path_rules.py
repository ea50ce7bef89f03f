"""The rule that turns a key into a local path, checked for POSIX and Windows on any
system: it accepts a key only if each ``/``-separated segment becomes exactly one path
component, so that no accepted key leaves the destination or shares another's file.
"""

from __future__ import annotations

import ntpath
import posixpath
from pathlib import PurePath, PurePosixPath, PureWindowsPath
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from s3cse.errors import LocalPathError
from s3cse.io.paths import PathClaims, local_name, local_path

POSIX_REFUSED = [
    "",
    "/",
    "/etc/passwd",
    "a//b",
    "a/",
    "./a",
    "a/.",
    "a/./b",
    "..",
    "../a",
    "a/../../b",
    "a\0b",
]
WINDOWS_REFUSED = [
    *POSIX_REFUSED,
    "a\\b",
    "..\\x",
    "\\\\server\\share\\x",
    "D:\\x",
    "C:x",
    "c:",
    "a:stream",
    "CON",
    "con.txt",
    "x/NUL.tar.gz",
    "COM1",
    "lpt9.log",
    "COM\u00b9",
    "CONIN$",
    "trailing.",
    "trailing ",
    "a./b",
    "what?",
    "a*b",
    "<x>",
    'say"',
    "p|q",
    "tab\tname",
]


@pytest.mark.parametrize("key", POSIX_REFUSED)
def test_posix_refuses(key: str) -> None:
    with pytest.raises(LocalPathError):
        local_path(key, PurePosixPath)


@pytest.mark.parametrize("key", WINDOWS_REFUSED)
def test_windows_refuses(key: str) -> None:
    with pytest.raises(LocalPathError):
        local_path(key, PureWindowsPath)


@pytest.mark.parametrize(
    "key",
    [
        "a",
        "a/b/c.csv",
        "a\\b",
        "C:x",
        "CON",
        "x.",
        ".hidden",
        "...",
        "a b",
        "\u00e9t\u00e9/\u65e5\u672c",
    ],
)
def test_posix_keeps_ordinary_names(key: str) -> None:
    assert local_path(key, PurePosixPath).parts == tuple(key.split("/"))


@pytest.mark.parametrize(
    "key",
    [
        "a",
        "a/b/c.csv",
        ".hidden",
        "CONSOLE",
        "com10",
        "x.y.z",
        "a b/c",
        "\u00e9t\u00e9/\u65e5\u672c",
    ],
)
def test_windows_keeps_ordinary_names(key: str) -> None:
    assert local_path(key, PureWindowsPath).parts == tuple(key.split("/"))


def test_a_single_download_takes_the_last_segment_only_if_it_is_a_name() -> None:
    assert local_name("p/q/x.csv", PurePosixPath) == "x.csv"
    assert local_name("x.csv", PureWindowsPath) == "x.csv"
    for key in ("p/a.csv/.", "p/..", "p/dir/", "p\\..\\..\\x.exe", "p/C:x"):
        with pytest.raises(LocalPathError):
            local_name(key, PureWindowsPath)
    with pytest.raises(LocalPathError):
        local_name("p/a.csv/.", PurePosixPath)


def test_windows_claims_refuse_names_differing_only_by_case() -> None:
    claims = PathClaims(PureWindowsPath)
    assert claims.claim("Dir/Report.csv") == PureWindowsPath("Dir", "Report.csv")
    with pytest.raises(LocalPathError, match="same local file"):
        claims.claim("dir/report.CSV")


# Keys built from the pieces that matter, and any text at all.
PIECES = [
    "a",
    "B",
    "/",
    "//",
    ".",
    "..",
    "\\",
    ":",
    "C:",
    "CON",
    "nul",
    " ",
    "\0",
    "\u00e9",
    "?",
    "*",
    "\x1b",
    "~",
    "$",
]
KEYS = st.one_of(st.lists(st.sampled_from(PIECES), max_size=8).map("".join), st.text())
FLAVOURS = st.sampled_from(
    [(PurePosixPath, posixpath, "/dest"), (PureWindowsPath, ntpath, "C:\\dest")]
)


@settings(max_examples=400, deadline=None)
@given(FLAVOURS, KEYS)
def test_an_accepted_key_stays_under_the_root(flavour: Any, key: str) -> None:
    rules, paths, root = flavour
    try:
        path = local_path(key, rules)
    except LocalPathError:
        return
    assert not path.is_absolute() and not path.anchor
    assert ".." not in path.parts and "." not in path.parts
    assert "/".join(path.parts) == key  # faithful: segment for segment
    joined = paths.normpath(paths.join(root, str(path)))
    assert joined.startswith(root + paths.sep) and joined == paths.join(root, str(path))


@settings(max_examples=400, deadline=None)
@given(FLAVOURS, KEYS, KEYS)
def test_distinct_accepted_keys_get_distinct_paths(flavour: Any, one: str, two: str) -> None:
    rules: type[PurePath] = flavour[0]
    try:
        first, second = local_path(one, rules), local_path(two, rules)
    except LocalPathError:
        return
    assert (first.parts == second.parts) == (one == two)


@settings(max_examples=200, deadline=None)
@given(FLAVOURS, st.lists(KEYS, max_size=12))
def test_claims_never_hand_out_one_path_twice(flavour: Any, keys: list[str]) -> None:
    claims = PathClaims(flavour[0])
    given_out: list[PurePath] = []
    for key in keys:
        try:
            path = claims.claim(key)
        except LocalPathError:
            continue
        assert path not in given_out or keys.count(key) > 1
        given_out.append(path)
