"""What a write asks S3 before it writes: one listing shows which of the object's
sidecar names exist, and only an existing one is looked at (a small GET). Without the
listing (no permission) every name is looked at, so a user's object named like a
sidecar is still never overwritten. Requests counted at the botocore client."""

from __future__ import annotations

import io
import os
import time
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from s3cse import EncryptionClient
from s3cse import errors as e
from s3cse.core.integrity import SUFFIX
from s3cse.transfer import TransferConfig

from ..keys import aes_keyring

pytestmark = pytest.mark.integration
MiB = 1024 * 1024
PARTS = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)


class Requests:
    """The operations and keys a botocore client sends, in order."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def record(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self.sent.append((model.name, str(params.get("Key") or params.get("Prefix") or "")))

    def before_write(self) -> list[tuple[str, str]]:
        writes = ("PutObject", "CreateMultipartUpload")
        first = next(i for i, (name, _) in enumerate(self.sent) if name in writes)
        return self.sent[:first]


def wait_until_listed(s3: Any, bucket: str) -> None:
    """SeaweedFS's gateway answers listings of a bucket it has just created with
    NoSuchBucket for a moment (a write then looks at each name instead): wait it out."""
    for _ in range(100):
        try:
            s3.list_objects_v2(Bucket=bucket, MaxKeys=1)
            return
        except s3.exceptions.NoSuchBucket:
            time.sleep(0.1)


@pytest.fixture
def counted(stack: Any, bucket: str) -> tuple[Any, Requests]:
    s3 = boto3.client("s3")
    wait_until_listed(s3, bucket)
    requests = Requests()
    s3.meta.events.register("before-parameter-build.s3", requests.record)
    return s3, requests


@pytest.mark.parametrize("how", ["put", "multipart"])
@pytest.mark.parametrize(
    "options",
    [{}, {"IntegrityIndex": True}, {"InstructionFile": True}],
    ids=["plain", "index", "instruction-file"],
)
def test_a_new_object_costs_one_listing_before_its_write(
    counted: tuple[Any, Requests], bucket: str, key_name: str, how: str, options: dict[str, Any]
) -> None:
    s3, requests = counted
    client = EncryptionClient(aes_keyring(0), s3_client=s3)
    data = os.urandom(6 * MiB) if how == "multipart" else b"small"
    if how == "put":
        client.put_object(Bucket=bucket, Key=key_name, Body=data, **options)
    else:
        client.upload_fileobj(io.BytesIO(data), bucket, key_name, Config=PARTS, ExtraArgs=options)
    listing = ("ListObjectsV2", key_name + ".")
    if how == "put" and not options:
        # nothing of a small write lands under a sidecar name: its listing runs beside
        # the PUT instead of before it, so the write waits for one round trip, not two
        assert sorted(requests.sent) == sorted([listing, ("PutObject", key_name)])
    else:
        assert requests.before_write() == [listing]
    assert client.get_object(Bucket=bucket, Key=key_name)["Body"].read() == data


def test_only_an_existing_sidecar_is_looked_at(
    counted: tuple[Any, Requests], bucket: str, key_name: str
) -> None:
    s3, requests = counted
    client = EncryptionClient(aes_keyring(0), s3_client=s3)
    client.put_object(Bucket=bucket, Key=key_name, Body=b"first", IntegrityIndex=True)
    requests.sent.clear()
    client.put_object(Bucket=bucket, Key=key_name, Body=b"second")
    looks = [("ListObjectsV2", key_name + "."), ("GetObject", key_name + SUFFIX)]
    *before_delete, last = requests.sent
    assert last == ("DeleteObject", key_name + SUFFIX)  # once the object is in
    # the look (listing, then the index's header) runs beside the PUT
    assert sorted(before_delete) == sorted([*looks, ("PutObject", key_name)])
    assert [r for r in before_delete if r in looks] == looks
    assert s3.list_objects_v2(Bucket=bucket, Prefix=key_name)["KeyCount"] == 1


def test_without_the_listing_every_sidecar_name_is_looked_at(
    counted: tuple[Any, Requests], bucket: str, key_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3, requests = counted

    def denied(**kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "ListObjectsV2")

    client = EncryptionClient(aes_keyring(0), s3_client=s3)
    s3.put_object(Bucket=bucket, Key=key_name + SUFFIX, Body=b"user notes")
    monkeypatch.setattr(s3, "list_objects_v2", denied)
    requests.sent.clear()
    with pytest.raises(e.ConfigurationError, match="object of its own"):
        client.put_object(Bucket=bucket, Key=key_name, Body=b"data", IntegrityIndex=True)
    assert sorted(requests.sent) == [
        ("GetObject", key_name + ".instruction"),
        ("GetObject", key_name + SUFFIX),
    ]
    assert s3.get_object(Bucket=bucket, Key=key_name + SUFFIX)["Body"].read() == b"user notes"
    client.put_object(Bucket=bucket, Key=key_name, Body=b"data")  # no index: no conflict
    assert client.get_object(Bucket=bucket, Key=key_name)["Body"].read() == b"data"
