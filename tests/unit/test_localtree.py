"""Walking a local tree for ``cp --recursive``: what is uploaded, what is skipped."""

from __future__ import annotations

import sys
from pathlib import Path

from s3cse.io.tree import LocalFile, Skipped, walk_tree


def test_a_link_to_a_device_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "null").symlink_to("/dev/null")
    (tmp_path / "data.bin").write_bytes(b"x")
    assert list(walk_tree(tmp_path)) == [
        LocalFile(tmp_path / "data.bin", "data.bin", 1),
        Skipped(tmp_path / "null", "a character device, not a regular file"),
    ]


def test_a_tree_deeper_than_the_recursion_limit_is_walked(tmp_path: Path) -> None:
    """Deeper than a recursive walk could go under a limit of 1,000 frames, yet short
    enough for PATH_MAX (a test runner may raise the limit itself, so it is set here)."""
    depth, limit = 1500, sys.getrecursionlimit()
    directories = [tmp_path]
    leaf = tmp_path / "leaf"
    try:
        for _ in range(depth):  # made and removed without recursion
            directories.append(directories[-1] / "d")
            directories[-1].mkdir()
        leaf = directories[-1] / "leaf"
        leaf.write_bytes(b"")
        sys.setrecursionlimit(1000)
        assert list(walk_tree(tmp_path)) == [
            LocalFile(leaf, leaf.relative_to(tmp_path).as_posix(), 0)
        ]
    finally:
        sys.setrecursionlimit(limit)
        leaf.unlink(missing_ok=True)
        for directory in reversed(directories[1:]):
            directory.rmdir()


def test_the_same_directory_linked_twice_is_no_loop(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "f").write_bytes(b"12")
    (tmp_path / "one").symlink_to("shared")
    (tmp_path / "two").symlink_to("shared")
    assert [found.relative for found in walk_tree(tmp_path) if isinstance(found, LocalFile)] == [
        "one/f",
        "shared/f",
        "two/f",
    ]
