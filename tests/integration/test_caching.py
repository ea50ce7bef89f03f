"""Data-key caching against real KMS: 1,000 objects for a handful of KMS calls."""

from __future__ import annotations

from collections import Counter
from typing import Any

import boto3
import pytest

from s3cse import EncryptionClient, KmsKeyring
from s3cse.keyrings import CachingMaterialsManager

pytestmark = pytest.mark.integration


def counting_kms_client() -> tuple[Any, Counter[str]]:
    """A KMS client that counts the calls it sends (observation, nothing replaced)."""
    client = boto3.client("kms")
    calls: Counter[str] = Counter()
    client.meta.events.register("before-call.kms.*", lambda model, **_: calls.update([model.name]))
    return client, calls


def test_caching_cuts_kms_calls_per_object_below_a_hundredth(
    s3: Any, kms_key_id: str, bucket: str, key_name: str
) -> None:
    kms, calls = counting_kms_client()
    cmm = CachingMaterialsManager(KmsKeyring(kms_key_id, kms_client=kms))
    client = EncryptionClient(materials=cmm, s3_client=s3)
    for i in range(1000):
        client.put_object(
            Bucket=bucket,
            Key=f"{key_name}/{i}",
            Body=b"%d" % i,
            EncryptionContext={"app": "cache-test"},
        )
    for i in range(1000):
        body = client.get_object(
            Bucket=bucket, Key=f"{key_name}/{i}", EncryptionContext={"app": "cache-test"}
        )["Body"].read()
        assert body == b"%d" % i
    assert calls["GenerateDataKey"] + calls["Decrypt"] <= 0.01 * 1000 * 2
    assert calls["GenerateDataKey"] == 1 and calls["Decrypt"] == 1


def test_without_caching_every_object_costs_kms_calls(
    s3: Any, kms_key_id: str, bucket: str, key_name: str
) -> None:
    kms, calls = counting_kms_client()
    client = EncryptionClient(KmsKeyring(kms_key_id, kms_client=kms), s3_client=s3)
    for i in range(20):
        client.put_object(Bucket=bucket, Key=f"{key_name}/{i}", Body=b"x")
        client.get_object(Bucket=bucket, Key=f"{key_name}/{i}")["Body"].read()
    assert calls["GenerateDataKey"] == 20 and calls["Decrypt"] == 20
