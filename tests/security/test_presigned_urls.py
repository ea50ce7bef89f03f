"""A presigned URL is served by S3 alone: for the operations that move object content it
would hand out ciphertext or store plaintext. The encryption client refuses to sign
those unless told ``AllowCiphertext=True``; other operations pass through."""

from __future__ import annotations

import urllib.request
from typing import Any

import pytest

from s3cse import errors as e

from ..conftest import MakeClient
from ..keys import aes_keyring

pytestmark = pytest.mark.integration


@pytest.fixture
def client(make_client: MakeClient) -> Any:
    return make_client(aes_keyring(0))


@pytest.mark.parametrize(
    "method", ["get_object", "put_object", "upload_part", "create_multipart_upload"]
)
def test_urls_that_move_content_are_refused(
    client: Any, bucket: str, key_name: str, method: str
) -> None:
    params = {"Bucket": bucket, "Key": key_name}
    if method == "upload_part":
        params.update(UploadId="u", PartNumber=1)
    with pytest.raises(e.ConfigurationError, match="bypasses client-side encryption"):
        client.generate_presigned_url(method, Params=params)


def test_presigned_post_is_refused(client: Any, bucket: str, key_name: str) -> None:
    with pytest.raises(e.ConfigurationError, match="bypasses client-side encryption"):
        client.generate_presigned_post(bucket, key_name)


def test_opt_in_signs_a_url_that_serves_the_ciphertext(
    client: Any, s3: Any, bucket: str, key_name: str
) -> None:
    client.put_object(Bucket=bucket, Key=key_name, Body=b"secret plaintext")
    url = client.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key_name}, ExpiresIn=60, AllowCiphertext=True
    )
    with urllib.request.urlopen(url) as answer:
        served = answer.read()
    assert served == s3.get_object(Bucket=bucket, Key=key_name)["Body"].read()
    assert b"secret plaintext" not in served


def test_other_operations_pass_through(client: Any, bucket: str, key_name: str) -> None:
    url = client.generate_presigned_url("head_object", Params={"Bucket": bucket, "Key": key_name})
    assert url.startswith("http") and f"/{bucket}/" in url and "Signature=" in url
