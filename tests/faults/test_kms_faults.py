"""KMS unreachable, slow, broken or throttling, with the sync and the async client.

GenerateDataKey and Decrypt are safe to repeat, so botocore retries them; when KMS
stays unusable the put or get fails with a ``KmsError`` and S3 is left untouched.
"""

from __future__ import annotations

from typing import Any

import pytest

from s3cse import EncryptionClient, KmsKeyring
from s3cse.errors import KmsError

from .conftest import Faulty, assert_absent
from .proxy import Fault, kms_throttling

pytestmark = pytest.mark.integration

GENERATE = b"TrentService.GenerateDataKey"
DECRYPT = b"TrentService.Decrypt"


def stored_plaintext(s3: Any, kms: Any, key_id: str, bucket: str, key: str) -> bytes:
    """What the object decrypts to, read with clients that bypass the proxies."""
    data: bytes = (
        EncryptionClient(KmsKeyring(key_id, kms_client=kms), s3_client=s3)
        .get_object(Bucket=bucket, Key=key)["Body"]
        .read()
    )
    return data


def test_throttled_generate_data_key_is_retried(
    faulty: Faulty, s3: Any, kms: Any, kms_key_id: str, bucket: str, key_name: str
) -> None:
    (fault,) = faulty.kms_proxy.add(kms_throttling(times=2))
    client = faulty.client(faulty.kms_keyring(kms_key_id))
    client.put_object(Bucket=bucket, Key=key_name, Body=b"after two throttles")
    assert fault.fired == 2
    assert stored_plaintext(s3, kms, kms_key_id, bucket, key_name) == b"after two throttles"


def test_throttled_decrypt_is_retried(
    faulty: Faulty, kms_key_id: str, bucket: str, key_name: str
) -> None:
    client = faulty.client(faulty.kms_keyring(kms_key_id))
    client.put_object(Bucket=bucket, Key=key_name, Body=b"read while throttled")
    (fault,) = faulty.kms_proxy.add(kms_throttling(times=2))
    assert client.get_object(Bucket=bucket, Key=key_name)["Body"].read() == b"read while throttled"
    assert fault.fired == 2


def test_throttling_that_persists_is_a_clear_error(
    faulty: Faulty, s3: Any, kms_key_id: str, bucket: str, key_name: str
) -> None:
    faulty.kms_proxy.add(kms_throttling(times=None))
    client = faulty.client(faulty.kms_keyring(kms_key_id))
    with pytest.raises(KmsError, match="throttling") as raised:
        client.put_object(Bucket=bucket, Key=key_name, Body=b"never stored")
    assert "CachingMaterialsManager" in str(raised.value)
    assert_absent(s3, bucket, key_name)


def test_kms_unreachable_on_put_stores_nothing(
    faulty: Faulty, s3: Any, kms_key_id: str, bucket: str, key_name: str
) -> None:
    faulty.kms_proxy.add(Fault("refuse", times=None))
    client = faulty.client(faulty.kms_keyring(kms_key_id))
    with pytest.raises(KmsError, match="KMS endpoint"):
        client.put_object(Bucket=bucket, Key=key_name, Body=b"never stored")
    assert_absent(s3, bucket, key_name)


def test_kms_unreachable_on_get_returns_nothing(
    faulty: Faulty, kms_key_id: str, bucket: str, key_name: str
) -> None:
    client = faulty.client(faulty.kms_keyring(kms_key_id))
    client.put_object(Bucket=bucket, Key=key_name, Body=b"stored")
    faulty.kms_proxy.go_down()
    with pytest.raises(KmsError, match="decrypt failed"):
        client.get_object(Bucket=bucket, Key=key_name)
    faulty.kms_proxy.clear()
    assert client.get_object(Bucket=bucket, Key=key_name)["Body"].read() == b"stored"


@pytest.mark.parametrize("operation", [GENERATE, DECRYPT])
def test_kms_answer_that_times_out_is_retried(
    faulty: Faulty, kms_key_id: str, bucket: str, key_name: str, operation: bytes
) -> None:
    """KMS stalls longer than the read timeout once: botocore asks again."""
    (fault,) = faulty.kms_proxy.add(Fault("stall", "response", seconds=8, when=operation))
    client = faulty.client(faulty.kms_keyring(kms_key_id))
    client.put_object(Bucket=bucket, Key=key_name, Body=b"slow KMS")
    assert client.get_object(Bucket=bucket, Key=key_name)["Body"].read() == b"slow KMS"
    assert fault.fired == 1


def test_slow_kms_within_the_timeout_just_works(
    faulty: Faulty, kms_key_id: str, bucket: str, key_name: str
) -> None:
    faulty.kms_proxy.add(Fault("slow", "response", seconds=0.3, times=None))
    client = faulty.client(faulty.kms_keyring(kms_key_id))
    client.put_object(Bucket=bucket, Key=key_name, Body=b"patience")
    assert client.get_object(Bucket=bucket, Key=key_name)["Body"].read() == b"patience"


def test_kms_connection_reset_mid_answer_is_retried(
    faulty: Faulty, kms_key_id: str, bucket: str, key_name: str
) -> None:
    (fault,) = faulty.kms_proxy.add(Fault("reset", "response", when=DECRYPT))
    client = faulty.client(faulty.kms_keyring(kms_key_id))
    client.put_object(Bucket=bucket, Key=key_name, Body=b"decrypt twice")
    assert client.get_object(Bucket=bucket, Key=key_name)["Body"].read() == b"decrypt twice"
    assert fault.fired == 1


@pytest.mark.parametrize("operation", [GENERATE, DECRYPT])
@pytest.mark.parametrize("after", [40, 400])
def test_kms_answer_cut_short_is_a_clear_error(
    faulty: Faulty,
    s3: Any,
    kms_key_id: str,
    bucket: str,
    key_name: str,
    operation: bytes,
    after: int,
) -> None:
    """A 200 cut off in its headers or its body: aiohttp notices and botocore retries;
    urllib3 hands botocore what arrived, a success without fields, which s3cse refuses
    rather than take for an empty data key."""
    client = faulty.client(faulty.kms_keyring(kms_key_id))
    if operation == DECRYPT:
        client.put_object(Bucket=bucket, Key=key_name, Body=b"stored")
    (fault,) = faulty.kms_proxy.add(Fault("cut", "response", after=after, when=operation))

    def call() -> None:
        if operation == DECRYPT:
            assert client.get_object(Bucket=bucket, Key=key_name)["Body"].read() == b"stored"
        else:
            client.put_object(Bucket=bucket, Key=key_name, Body=b"stored")

    if faulty.kind == "async":
        call()
    else:
        with pytest.raises(KmsError, match="cut short"):
            call()
        if operation == GENERATE:
            assert_absent(s3, bucket, key_name)
    assert fault.fired == 1
