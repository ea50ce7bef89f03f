"""The KMS gate's request counters: what benchmarks read to count KMS calls per object."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from s3cse import EncryptionClient, KmsKeyring
from s3cse.local import stack as local
from s3cse.local.kms_gate import RESET_PATH, STATS_PATH

pytestmark = pytest.mark.integration


def gate(stack: local.LocalStack, method: str, path: str) -> dict[str, Any]:
    body = None if method == "GET" else b""
    request = urllib.request.Request(stack.kms_endpoint + path, data=body, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        document: dict[str, Any] = json.loads(response.read())
        return document


def test_counts_kms_calls_of_a_put_and_get_and_resets(
    stack: local.LocalStack, s3: Any, bucket: str, kms_key_id: str, key_name: str
) -> None:
    # without the client's data-key cache, so that each read is a Decrypt to count
    client = EncryptionClient(KmsKeyring(kms_key_id), s3_client=s3, decrypt_cache_seconds=0)
    assert gate(stack, "POST", RESET_PATH) == {"requests": {}, "total": 0}

    client.put_object(Bucket=bucket, Key=key_name, Body=b"counted")
    assert gate(stack, "GET", STATS_PATH) == {"requests": {"GenerateDataKey": 1}, "total": 1}
    assert client.get_object(Bucket=bucket, Key=key_name)["Body"].read() == b"counted"
    client.get_object(Bucket=bucket, Key=key_name)["Body"].read()
    stats = gate(stack, "GET", STATS_PATH)
    assert stats == {"requests": {"GenerateDataKey": 1, "Decrypt": 2}, "total": 3}

    gate(stack, "POST", RESET_PATH)
    assert gate(stack, "GET", STATS_PATH) == {"requests": {}, "total": 0}


def test_other_paths_are_not_served_as_stats(stack: local.LocalStack) -> None:
    with pytest.raises(urllib.error.HTTPError) as raised:
        gate(stack, "GET", "/_s3cse_gate/other")
    assert raised.value.code == 404
