"""Part planning: S3's rules for multipart uploads of GCM objects."""

from __future__ import annotations

import io
import os

import pytest

from s3cse import EncryptionClient
from s3cse import errors as e
from s3cse.core import multipart
from s3cse.core.multipart import (
    MAX_PARTS,
    MIN_PART_SIZE,
    StreamCutter,
    TransferConfig,
    part_size_for,
    plan_parts,
)
from s3cse.core.suites import GCM_MAX_PLAINTEXT
from s3cse.io.running import fill_part

from ..keys import aes_keyring
from .test_client_limits import HugeFile, NoNetwork

MiB = 1024 * 1024


@pytest.mark.parametrize("size", [0, 1, 8 * MiB, 8 * MiB + 1, 100 * 1024 * MiB, GCM_MAX_PLAINTEXT])
def test_parts_cover_the_object_within_s3_rules(size: int) -> None:
    part = part_size_for(size, TransferConfig())
    plan = plan_parts(size, part)
    assert len(plan) <= MAX_PARTS
    assert sum(length for _, length in plan) == size
    assert [offset for offset, _ in plan] == [i * part for i in range(len(plan))]
    for offset, length in plan[:-1]:
        assert length % 16 == 0 and length >= MIN_PART_SIZE and offset % 16 == 0


def test_big_inputs_get_bigger_parts() -> None:
    assert part_size_for(1024 * 1024 * MiB, TransferConfig()) > 8 * MiB


@pytest.mark.parametrize(
    "kwargs",
    [
        {"multipart_chunksize": 4 * MiB},
        {"multipart_chunksize": 5 * MiB + 1},
        {"max_concurrency": 0},
        {"multipart_threshold": -1},
    ],
)
def test_bad_transfer_settings_are_refused(kwargs: dict[str, int]) -> None:
    with pytest.raises(e.ConfigurationError):
        TransferConfig(**kwargs)


def test_multipart_over_the_gcm_limit_is_refused_before_any_request() -> None:
    client = EncryptionClient(aes_keyring(0), s3_client=NoNetwork())
    with pytest.raises(e.ContentTooLargeError):
        client.upload_fileobj(HugeFile(GCM_MAX_PLAINTEXT + 1), "b", "k")


def cut_stream(
    data: bytes, first: int, part_size: int, limit: int = 1 << 40
) -> list[tuple[int, bytes, bool]]:
    """(offset, content, last) of each part ``StreamCutter`` cuts from ``data``, of
    which the first ``first`` bytes were read ahead."""
    cutter = StreamCutter(data[:first], part_size, limit)
    source = io.BytesIO(data[first:])
    parts: list[tuple[int, bytes, bool]] = []
    while not parts or not parts[-1][2]:
        buffer = bytearray(part_size)
        cutter.begin(buffer)
        fill_part(cutter, source)
        offset, length, last = cutter.cut()
        parts.append((offset, bytes(buffer[:length]), last))
    return parts


@pytest.mark.parametrize(
    ("size", "first"), [(0, 0), (1, 1), (64, 16), (64, 40), (65, 64), (100, 0), (100, 100)]
)
def test_a_stream_is_cut_into_whole_parts_and_one_last(size: int, first: int) -> None:
    data = os.urandom(size)
    parts = cut_stream(data, first, 16)
    assert b"".join(content for _, content, _ in parts) == data
    assert [last for _, _, last in parts] == [False] * (len(parts) - 1) + [True]
    assert all(len(content) == 16 for _, content, _ in parts[:-1])
    assert [offset for offset, _, _ in parts] == [16 * i for i in range(len(parts))]
    # a stream that ends on a part boundary ends with that full part, not an empty one
    assert parts[-1][1] or size == 0


def test_a_stream_past_the_plaintext_limit_is_refused_before_its_part_goes() -> None:
    with pytest.raises(e.ContentTooLargeError):
        cut_stream(bytes(100), 16, 16, limit=50)
    assert len(cut_stream(bytes(48), 16, 16, limit=48)) == 3


def test_a_stream_needing_too_many_parts_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(multipart, "MAX_PARTS", 3)
    assert len(cut_stream(bytes(48), 16, 16)) == 3
    with pytest.raises(e.ConfigurationError, match="more than 3 parts"):
        cut_stream(bytes(49), 16, 16)
