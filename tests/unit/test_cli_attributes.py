"""What the attribute and ``--to-`` key options turn into, checked before any request:
the PutObject arguments, the MIME type guessed, the part size ``--expected-size``
asks for, and the usage errors."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from s3cse.cli.attributes import Attributes, check_tagging, parse_expires, parse_metadata
from s3cse.cli.clients import KeyOptions
from s3cse.cli.objects import S3Url
from s3cse.cli.transfers import stream_config
from s3cse.core import multipart
from s3cse.core.multipart import MiB
from s3cse.errors import ConfigurationError


def test_metadata_takes_the_aws_shorthand_and_json() -> None:
    assert parse_metadata("a=1,b=x=y, c =") == {"a": "1", "b": "x=y", "c": ""}
    assert parse_metadata('{"a": "1,2", "b": "3"}') == {"a": "1,2", "b": "3"}


@pytest.mark.parametrize(
    "text",
    ["x-amz-key=1", "a=1,X-AMZ-MATDESC={}", '{"x-amz-3": "k"}', "x-amz-w=02", "x-amz-tag-len=128"],
)
def test_metadata_refuses_the_encryption_metadata_names(text: str) -> None:
    with pytest.raises(ConfigurationError, match=r"--metadata: .*reserved for encryption"):
        parse_metadata(text)


@pytest.mark.parametrize("text", ["novalue", "=1", "a=1,,b=2", "{not json", '["a"]', '{"a": 1}'])
def test_malformed_metadata_is_a_usage_error(text: str) -> None:
    with pytest.raises(ConfigurationError, match="--metadata"):
        parse_metadata(text)


def test_tagging_passes_as_given_and_refuses_what_s3_would() -> None:
    assert check_tagging("a=1&b=x%20y&c=") == "a=1&b=x%20y&c="
    for bad in ("a=1&&b=2", "a=1&a=2", "plain"):
        with pytest.raises(ConfigurationError, match="--tagging"):
            check_tagging(bad)


def test_expires_takes_iso_dates_and_epoch_seconds() -> None:
    utc = datetime(2030, 1, 31, 12, tzinfo=timezone.utc)
    assert parse_expires("2030-01-31T12:00:00Z") == utc
    assert parse_expires("2030-01-31T12:00:00") == utc  # UTC unless an offset says otherwise
    assert parse_expires("2030-01-31T13:00:00+01:00") == utc
    assert parse_expires(str(int(utc.timestamp()))) == utc
    assert parse_expires("2030-01-31") == utc - timedelta(hours=12)
    with pytest.raises(ConfigurationError, match="--expires"):
        parse_expires("next tuesday")


def options(**given: Any) -> dict[str, Any]:
    """The keyword arguments ``attribute_options`` hands a command, ``given`` set."""
    names = ["content_type", "cache_control", "content_disposition", "content_encoding"]
    names += ["content_language", "expires", "metadata", "storage_class", "acl", "tagging"]
    return {**dict.fromkeys(names), "guess_mime_type": True, "metadata_directive": "COPY", **given}


def test_attributes_are_taken_out_of_the_options_as_put_arguments() -> None:
    kwargs = {**options(cache_control="no-cache", acl="private", metadata="a=b"), "other": 1}
    attributes = Attributes.from_options(kwargs)
    assert kwargs == {"other": 1}
    assert attributes.args == {"CacheControl": "no-cache", "ACL": "private", "Metadata": {"a": "b"}}


def test_an_upload_guesses_its_content_type_from_the_file_name_only() -> None:
    guessing = Attributes.from_options(options())
    assert guessing.for_upload("dir/page.html") == {"ContentType": "text/html"}
    assert guessing.for_upload("-") == {}
    assert guessing.for_upload("no-extension") == {}
    given = Attributes.from_options(options(content_type="text/plain"))
    assert given.for_upload("page.html") == {"ContentType": "text/plain"}
    off = Attributes.from_options(options(guess_mime_type=False))
    assert off.for_upload("page.html") == {}


def test_a_replacing_copy_takes_only_the_flags_and_guesses_from_the_key() -> None:
    replace = Attributes.from_options(options(metadata_directive="REPLACE", tagging="a=1"))
    source = {"CacheControl": "max-age=1", "Metadata": {"k": "v"}}
    got = replace.for_copy(None, S3Url("b", "x/data.json"), source)  # no request made
    assert got == {"ContentType": "application/json", "Tagging": "a=1"}


def test_expected_size_grows_the_parts_so_that_the_stream_fits() -> None:
    assert stream_config(None).multipart_chunksize == 8 * MiB
    assert stream_config(1000).multipart_chunksize == 8 * MiB
    big = 200 * 1024**3
    part = stream_config(big).multipart_chunksize
    assert part % MiB == 0 and part * multipart.MAX_PARTS >= big
    assert (part - MiB) * multipart.MAX_PARTS < big


def key_options(**given: Any) -> KeyOptions:
    base: dict[str, Any] = dict.fromkeys(
        ["kms_key_id", "aes_key_file", "rsa_key_file", "matdesc", "commitment_policy"]
    )
    base.update(
        dict.fromkeys(["endpoint_url", "kms_endpoint_url", "region", "profile"]),
        encryption_context=("dept=a",),
        legacy=False,
    )
    return KeyOptions(**{**base, **given})


def test_the_write_context_is_the_target_one_else_the_one_read_with() -> None:
    assert not key_options().retargets
    assert key_options().write_context == {"dept": "a"}
    assert key_options(to_encryption_context=("dept=b",)).write_context == {"dept": "b"}
    assert key_options(to_empty_encryption_context=True).write_context == {}
    assert key_options(to_aes_key_file="k").retargets


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"to_aes_key_file": "a", "to_kms_key_id": "k"}, "give one new key"),
        ({"to_matdesc": "{}"}, "--to-matdesc goes with"),
        (
            {"to_empty_encryption_context": True, "to_encryption_context": ("a=b",)},
            "exclude each other",
        ),
    ],
)
def test_conflicting_target_options_are_refused(given: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        key_options(**given).copy_writer()
