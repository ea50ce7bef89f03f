"""Key ARNs, multi-Region matching and the discovery allow-list (pure)."""

from __future__ import annotations

import pytest

from s3cse import errors as e
from s3cse.keyrings.kms_arns import (
    AllowList,
    check_key_used,
    discovery_key_id,
    parse_key_arn,
    partition_of,
)

KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
MRK = "arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab"
MRK_WEST = MRK.replace("us-east-1", "us-west-2")


@pytest.mark.parametrize(
    "text",
    [
        "1234abcd-12ab-34cd-56ef-1234567890ab",
        "alias/mine",
        "arn:aws:kms:us-east-1:111122223333:alias/mine",
        "arn:aws:kms:us-east-1:1111:key/x",
        "arn:aws:s3:us-east-1:111122223333:key/x",
        "arn:aws:kms::111122223333:key/x",
        "arn:aws:kms:us-east-1:111122223333:key/",
    ],
)
def test_only_full_key_arns_parse(text: str) -> None:
    assert parse_key_arn(text) is None


def test_a_key_arn_parses_and_prints_back() -> None:
    arn = parse_key_arn(MRK)
    assert arn is not None and arn.multi_region and arn.region == "us-east-1"
    assert str(arn) == MRK and str(arn.in_region("us-west-2")) == MRK_WEST


def test_an_arn_allows_itself_and_a_multi_region_arn_its_replicas_only() -> None:
    allow = AllowList.parse([KEY, MRK], "us-east-1")
    assert allow.allows(parse_key_arn(KEY))  # type: ignore[arg-type]
    assert allow.allows(parse_key_arn(MRK_WEST))  # type: ignore[arg-type]
    assert not allow.allows(parse_key_arn(KEY.replace("us-east-1", "us-west-2")))  # type: ignore[arg-type]
    assert not allow.allows(parse_key_arn(MRK.replace("111122223333", "444455556666")))  # type: ignore[arg-type]
    assert not allow.allows(parse_key_arn(MRK.replace("arn:aws:", "arn:aws-cn:")))  # type: ignore[arg-type]


def test_an_account_is_allowed_in_its_partition_only() -> None:
    allow = AllowList.parse(["account:111122223333"], "us-east-1")
    assert allow.allows(parse_key_arn(KEY))  # type: ignore[arg-type]
    assert not allow.allows(parse_key_arn(KEY.replace("arn:aws:", "arn:aws-cn:")))  # type: ignore[arg-type]
    china = AllowList.parse(["account:111122223333"], "cn-north-1")
    assert china.accounts == (("aws-cn", "111122223333"),)
    explicit = AllowList.parse(["account:aws-us-gov:111122223333"], "us-east-1")
    assert explicit.accounts == (("aws-us-gov", "111122223333"),)
    assert AllowList.parse(explicit.entries, None) == explicit


@pytest.mark.parametrize(
    ("entries", "fragment"),
    [
        ([], "needs an allow-list"),
        (["alias/mine"], "neither a key ARN"),
        (["1234abcd-12ab-34cd-56ef-1234567890ab"], "neither a key ARN"),
        (["account:12"], "twelve"),
        (["account:"], "twelve"),
        (["account:a:b:c"], "twelve"),
    ],
)
def test_bad_allow_lists_are_refused(entries: list[str], fragment: str) -> None:
    with pytest.raises(e.ConfigurationError, match=fragment):
        AllowList.parse(entries, "us-east-1")


def test_partitions() -> None:
    assert partition_of("eu-west-1") == "aws" and partition_of(None) == "aws"
    assert partition_of("cn-northwest-1") == "aws-cn"
    assert partition_of("us-gov-west-1") == "aws-us-gov"


def test_a_legacy_key_id_is_checked_and_moved_to_the_readers_region() -> None:
    allow = AllowList.parse([MRK], "us-west-2")
    assert discovery_key_id(MRK, allow, "us-west-2") == MRK_WEST
    assert discovery_key_id(MRK, allow, "us-east-1") == MRK
    assert discovery_key_id("alias/x", allow, "us-west-2") == "alias/x"  # KMS's answer decides
    with pytest.raises(e.KmsKeyNotAllowedError):
        discovery_key_id(KEY, allow, "us-west-2")


def test_the_key_kms_answered_must_be_an_allowed_arn() -> None:
    allow = AllowList.parse([KEY], "us-east-1")
    assert check_key_used(KEY, allow) == KEY
    for answer in (None, "", "1234abcd-12ab-34cd-56ef-1234567890ab", MRK):
        with pytest.raises(e.KmsKeyNotAllowedError):
            check_key_used(answer, allow)
