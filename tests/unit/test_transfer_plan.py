"""Part planning: S3's rules for multipart uploads of GCM objects."""

from __future__ import annotations

import pytest

from s3cse import EncryptionClient
from s3cse import errors as e
from s3cse.suites import GCM_MAX_PLAINTEXT
from s3cse.transfer import MAX_PARTS, MIN_PART_SIZE, TransferConfig, part_size_for, plan_parts

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
    "kwargs", [{"multipart_chunksize": 4 * MiB}, {"multipart_chunksize": 5 * MiB + 1},
               {"max_concurrency": 0}, {"multipart_threshold": -1}])
def test_bad_transfer_settings_are_refused(kwargs: dict[str, int]) -> None:
    with pytest.raises(e.ConfigurationError):
        TransferConfig(**kwargs)


def test_multipart_over_the_gcm_limit_is_refused_before_any_request() -> None:
    client = EncryptionClient(aes_keyring(0), s3_client=NoNetwork())
    with pytest.raises(e.ContentTooLargeError):
        client.upload_fileobj(HugeFile(GCM_MAX_PLAINTEXT + 1), "b", "k")
