"""``ls --human-readable`` sizes and ``mb``'s bucket name rules, without S3."""

from __future__ import annotations

import pytest

from s3cse.cli.buckets import check_bucket_name
from s3cse.cli.output import human_size, size_text
from s3cse.errors import ConfigurationError


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 Bytes"),
        (1, "1 Byte"),
        (1023, "1023 Bytes"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (1023 * 1024, "1023.0 KiB"),
        (1024 * 1024 - 1, "1.0 MiB"),  # 1023.999 KiB rounds to 1024: the next unit
        (5 * 1024**3, "5.0 GiB"),
        (3 * 1024**6, "3.0 EiB"),
        (2000 * 1024**6, "2000.0 EiB"),  # no unit above EiB (the AWS CLI prints None)
    ],
)
def test_human_size_matches_the_aws_cli(size: int, text: str) -> None:
    assert human_size(size) == text


def test_an_upper_bound_keeps_its_tilde() -> None:
    assert size_text(2048, True, True) == "~2.0 KiB"
    assert size_text(2048, True, False) == "~2048"
    assert size_text(2048, False, False) == "2048"


@pytest.mark.parametrize("name", ["abc", "my.bucket-1", "a" * 63, "1bucket", "b-1.2.3.x"])
def test_valid_bucket_names_pass(name: str) -> None:
    check_bucket_name(name)


@pytest.mark.parametrize("name", ["a" * 64, "ends-", "bucket.", "1.2.3.4", "a_b", "sthree-x"])
def test_invalid_bucket_names_are_refused(name: str) -> None:
    with pytest.raises(ConfigurationError, match="invalid bucket name"):
        check_bucket_name(name)
