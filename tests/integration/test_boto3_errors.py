"""Code written for boto3 handles s3cse's errors unchanged: each error S3 answered is also
the botocore exception boto3 raises for that answer, with the same ``response``."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
from botocore.exceptions import ClientError

from s3cse import errors as e

from ..conftest import MakeClient
from ..keys import aes_keyring

pytestmark = pytest.mark.integration
MISSING_BUCKET = "no-such-bucket-s3cse"


@pytest.fixture
def client(make_client: MakeClient) -> Any:
    return make_client(aes_keyring(0))


def boto3_error(call: Any, **kwargs: Any) -> ClientError:
    """What the plain boto3 client raises for the same request."""
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return info.value


def same_answer(error: ClientError, expected: ClientError) -> None:
    assert error.response["Error"]["Code"] == expected.response["Error"]["Code"]
    assert (
        error.response["ResponseMetadata"]["HTTPStatusCode"]
        == expected.response["ResponseMetadata"]["HTTPStatusCode"]
    )
    assert error.operation_name == expected.operation_name


def test_client_exposes_the_s3_clients_exceptions(client: Any) -> None:
    assert client.exceptions is client.s3.exceptions
    assert issubclass(client.exceptions.NoSuchKey, ClientError)


def test_missing_key_is_boto3s_no_such_key(
    client: Any, s3: Any, bucket: str, key_name: str
) -> None:
    with pytest.raises(client.exceptions.NoSuchKey) as info:
        client.get_object(Bucket=bucket, Key=key_name)
    error = info.value
    assert isinstance(error, ClientError) and isinstance(error, e.ObjectNotFoundError)
    same_answer(error, boto3_error(s3.get_object, Bucket=bucket, Key=key_name))
    assert error.response["Error"]["Code"] == "NoSuchKey"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert error.operation_name == "GetObject"
    assert (
        str(error) == f"download: no such object [s3://{bucket}/{key_name}]. "
        "Check the bucket and key"
    )


def test_missing_bucket_is_boto3s_no_such_bucket(client: Any, s3: Any) -> None:
    with pytest.raises(client.exceptions.NoSuchBucket) as info:
        client.get_object(Bucket=MISSING_BUCKET, Key="k")
    assert isinstance(info.value, e.ObjectNotFoundError)
    assert "no such bucket" in str(info.value)
    same_answer(info.value, boto3_error(s3.get_object, Bucket=MISSING_BUCKET, Key="k"))


def test_head_of_missing_key_is_a_bare_404_as_in_boto3(
    client: Any, s3: Any, bucket: str, key_name: str
) -> None:
    with pytest.raises(ClientError) as info:
        client.head_object(Bucket=bucket, Key=key_name)
    error = info.value
    assert isinstance(error, e.ObjectNotFoundError)
    same_answer(error, boto3_error(s3.head_object, Bucket=bucket, Key=key_name))
    assert error.response["Error"]["Code"] == "404"
    assert error.operation_name == "HeadObject"
    assert not isinstance(error, client.exceptions.NoSuchKey)  # boto3's is not either


def test_precondition_failed_is_a_client_error(
    client: Any, s3: Any, bucket: str, key_name: str
) -> None:
    client.put_object(Bucket=bucket, Key=key_name, Body=b"data")
    with pytest.raises(ClientError) as info:
        client.get_object(Bucket=bucket, Key=key_name, IfMatch='"0123"')
    error = info.value
    assert isinstance(error, e.S3RequestError)
    same_answer(error, boto3_error(s3.get_object, Bucket=bucket, Key=key_name, IfMatch='"0123"'))
    assert error.response["Error"]["Code"] == "PreconditionFailed"


def test_range_past_the_end_is_boto3s_invalid_range(
    make_client: MakeClient, bucket: str, key_name: str
) -> None:
    client = make_client(aes_keyring(0), unauthenticated_ranges=True)
    client.put_object(Bucket=bucket, Key=key_name, Body=b"x" * 100)
    for past_the_end in ("bytes=100-", "bytes=5000-"):  # s3cse's check, then S3's
        with pytest.raises(ClientError) as info:
            client.get_object(Bucket=bucket, Key=key_name, Range=past_the_end)
        assert isinstance(info.value, e.InvalidRangeError)
        assert info.value.response["Error"]["Code"] == "InvalidRange"
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 416


def test_s3_errors_pickle_with_their_answer(client: Any, bucket: str, key_name: str) -> None:
    with pytest.raises(e.ObjectNotFoundError) as info:
        client.get_object(Bucket=bucket, Key=key_name)
    copy = pickle.loads(pickle.dumps(info.value))
    assert isinstance(copy, e.ObjectNotFoundError) and isinstance(copy, ClientError)
    assert copy.response["Error"]["Code"] == "NoSuchKey"
    assert copy.operation_name == "GetObject" and str(copy) == str(info.value)


def test_errors_s3_did_not_answer_are_not_client_errors(
    make_client: MakeClient, client: Any, bucket: str, key_name: str
) -> None:
    client.put_object(Bucket=bucket, Key=key_name, Body=b"data")
    with pytest.raises(e.KeyUnwrapError) as info:
        make_client(aes_keyring(1)).get_object(Bucket=bucket, Key=key_name)
    assert not isinstance(info.value, ClientError)
