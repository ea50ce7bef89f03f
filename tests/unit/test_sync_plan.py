"""``sync``'s decision for a path both sides have (``cli.syncplan.decide``)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from s3cse.cli.syncplan import Decision, Direction, Version, decide, epoch

UPLOAD, DOWNLOAD, COPY = Direction.UPLOAD, Direction.DOWNLOAD, Direction.COPY
T = 1_700_000_000.0


def test_same_size_and_destination_newer_is_skipped() -> None:
    assert decide(UPLOAD, Version(10, T), Version(10, T + 5)) is Decision.SKIP
    assert decide(COPY, Version(10, T), Version(10, T)) is Decision.SKIP


def test_an_upload_or_copy_goes_when_the_source_is_newer() -> None:
    for direction in (UPLOAD, COPY):
        assert decide(direction, Version(10, T + 5), Version(10, T)) is Decision.COPY


def test_a_download_goes_when_the_local_file_is_newer_as_the_aws_cli_does() -> None:
    assert decide(DOWNLOAD, Version(10, T), Version(10, T + 5)) is Decision.COPY
    assert decide(DOWNLOAD, Version(10, T + 5), Version(10, T)) is Decision.SKIP


def test_exact_timestamps_downloads_unless_the_times_are_equal() -> None:
    older = decide(DOWNLOAD, Version(10, T + 5), Version(10, T), exact_timestamps=True)
    same = decide(DOWNLOAD, Version(10, T), Version(10, T), exact_timestamps=True)
    assert (older, same) == (Decision.COPY, Decision.SKIP)


def test_exact_timestamps_leaves_uploads_as_they_are() -> None:
    assert decide(UPLOAD, Version(10, T), Version(10, T + 5), exact_timestamps=True) is (
        Decision.SKIP
    )


def test_times_count_in_whole_seconds_as_s3_keeps_them() -> None:
    # written at .7 and uploaded in the same second: LastModified reads T
    assert decide(UPLOAD, Version(10, T + 0.7), Version(10, T)) is Decision.SKIP


def test_size_only_ignores_times() -> None:
    assert decide(UPLOAD, Version(10, T + 50), Version(10, T), size_only=True) is Decision.SKIP
    assert decide(UPLOAD, Version(10, T), Version(11, T + 50), size_only=True) is Decision.COPY


def test_a_size_that_differs_is_copied_once_both_are_known() -> None:
    assert decide(UPLOAD, Version(10, T), Version(11, T + 5)) is Decision.COPY


def test_an_assumed_size_that_differs_is_looked_up_first() -> None:
    listed = Version(84, T + 5, assumed=True)  # an unencrypted object of 100 bytes
    assert decide(UPLOAD, Version(100, T), listed) is Decision.LOOK
    assert decide(UPLOAD, Version(100, T), Version(100, T + 5)) is Decision.SKIP


def test_a_newer_source_is_copied_without_a_look() -> None:
    assert decide(UPLOAD, Version(100, T + 9), Version(84, T, assumed=True)) is Decision.COPY


def test_a_cbc_object_matches_any_size_its_padding_allows() -> None:
    cbc = Version(96, T + 5, size_max=111)
    assert decide(UPLOAD, Version(100, T), cbc) is Decision.SKIP
    assert decide(UPLOAD, Version(112, T), cbc) is Decision.COPY


def test_epoch_reads_datetimes_and_numbers() -> None:
    assert epoch(datetime.fromtimestamp(T, timezone.utc)) == T
    assert epoch(T) == T


sizes = st.integers(min_value=0, max_value=10**12)
times = st.floats(min_value=0, max_value=4e9, allow_nan=False)


@given(sizes, times, st.sampled_from(list(Direction)), st.booleans(), st.booleans())
def test_a_path_equal_on_both_sides_is_never_copied(
    size: int, mtime: float, direction: Direction, size_only: bool, exact: bool
) -> None:
    same = Version(size, mtime)
    assert (
        decide(direction, same, same, size_only=size_only, exact_timestamps=exact) is Decision.SKIP
    )


@given(sizes, sizes, times, times, st.sampled_from(list(Direction)), st.booleans())
def test_known_sizes_that_differ_are_always_copied(
    a: int, b: int, t1: float, t2: float, direction: Direction, size_only: bool
) -> None:
    if a == b:
        return
    decision = decide(direction, Version(a, t1), Version(b, t2), size_only=size_only)
    assert decision is Decision.COPY


@given(sizes, sizes, times, times, st.sampled_from(list(Direction)))
def test_a_look_happens_only_for_assumed_sizes(
    a: int, b: int, t1: float, t2: float, direction: Direction
) -> None:
    known = decide(direction, Version(a, t1), Version(b, t2))
    assert known is not Decision.LOOK


@pytest.mark.parametrize("direction", list(Direction))
def test_after_a_copy_the_next_run_skips(direction: Direction) -> None:
    # what a copy leaves: uploads and copies get a later LastModified, downloads the
    # object's own LastModified as mtime
    later = T + (0 if direction is DOWNLOAD else 3)
    assert decide(direction, Version(7, T + 0.5), Version(7, later)) is Decision.SKIP
