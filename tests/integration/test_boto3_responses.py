"""What the encryption client answers agrees with itself and round-trips as boto3's does:
sizes are plaintext sizes wherever s3cse reports them, and ``Metadata`` is the user's."""

from __future__ import annotations

from typing import Any

import pytest

from s3cse.core.metadata import ALL_KEYS

from ..conftest import MakeClient
from ..keys import aes_keyring

pytestmark = pytest.mark.integration
DATA = b"plaintext bytes " * 100


@pytest.fixture
def client(make_client: MakeClient) -> Any:
    return make_client(aes_keyring(0))


def test_read_metadata_is_the_users_and_the_envelope_apart(
    client: Any, bucket: str, key_name: str
) -> None:
    client.put_object(Bucket=bucket, Key=key_name, Body=DATA, Metadata={"owner": "ops"})
    for response in (
        client.get_object(Bucket=bucket, Key=key_name),
        client.head_object(Bucket=bucket, Key=key_name),
    ):
        assert response["Metadata"] == {"owner": "ops"}
        assert "x-amz-3" in response["EncryptionMetadata"]
        assert set(response["EncryptionMetadata"]) <= ALL_KEYS


def test_ranged_read_metadata_is_the_users(
    make_client: MakeClient, bucket: str, key_name: str
) -> None:
    client = make_client(aes_keyring(0), unauthenticated_ranges=True)
    client.put_object(Bucket=bucket, Key=key_name, Body=DATA, Metadata={"owner": "ops"})
    client.put_object(
        Bucket=bucket,
        Key=f"{key_name}-indexed",
        Body=DATA,
        Metadata={"owner": "ops"},
        IntegrityIndex=True,
    )
    for key in (key_name, f"{key_name}-indexed"):
        response = client.get_object(Bucket=bucket, Key=key, Range="bytes=10-19")
        assert response["Body"].read() == DATA[10:20]
        assert response["Metadata"] == {"owner": "ops"}


def test_metadata_read_writes_back_unchanged(client: Any, bucket: str, key_name: str) -> None:
    client.put_object(Bucket=bucket, Key=key_name, Body=DATA, Metadata={"owner": "ops"})
    got = client.get_object(Bucket=bucket, Key=key_name)
    client.put_object(
        Bucket=bucket, Key=f"{key_name}/copy", Body=got["Body"].read(), Metadata=got["Metadata"]
    )
    head = client.head_object(Bucket=bucket, Key=f"{key_name}/copy")
    client.copy_object(
        Bucket=bucket,
        Key=f"{key_name}/replaced",
        CopySource=f"{bucket}/{key_name}",
        MetadataDirective="REPLACE",
        Metadata=head["Metadata"],
    )
    for key in (f"{key_name}/copy", f"{key_name}/replaced"):
        again = client.get_object(Bucket=bucket, Key=key)
        assert again["Body"].read() == DATA and again["Metadata"] == {"owner": "ops"}


def sizes(listing: dict[str, Any], field: str = "Contents") -> dict[str, tuple[int, int, str]]:
    return {
        entry["Key"]: (entry["Size"], entry["StoredSize"], entry["SizeSource"])
        for entry in listing.get(field, [])
    }


def test_listings_report_plaintext_sizes(client: Any, s3: Any, bucket: str, key_name: str) -> None:
    client.put_object(Bucket=bucket, Key=f"{key_name}/a", Body=DATA, IntegrityIndex=True)
    s3.put_object(Bucket=bucket, Key=f"{key_name}/small", Body=b"plain")
    head = client.head_object(Bucket=bucket, Key=f"{key_name}/a")
    index_size = s3.head_object(Bucket=bucket, Key=f"{key_name}/a.s3cse-index")["ContentLength"]
    expected = {
        f"{key_name}/a": (len(DATA), len(DATA) + 16, "assumed-gcm"),
        f"{key_name}/a.s3cse-index": (index_size, index_size, "not-encrypted"),
        f"{key_name}/small": (5, 5, "not-encrypted"),
    }
    assert head["ContentLength"] == len(DATA)
    assert sizes(client.list_objects_v2(Bucket=bucket, Prefix=key_name)) == expected
    assert sizes(client.list_objects(Bucket=bucket, Prefix=key_name)) == expected
    assert (
        sizes(client.list_object_versions(Bucket=bucket, Prefix=key_name), "Versions") == expected
    )


def test_object_attributes_report_the_plaintext_size(
    client: Any, bucket: str, key_name: str
) -> None:
    client.put_object(Bucket=bucket, Key=key_name, Body=DATA)
    attributes = client.get_object_attributes(
        Bucket=bucket, Key=key_name, ObjectAttributes=["ObjectSize", "ETag"]
    )
    assert attributes["ObjectSize"] == len(DATA)
    assert attributes["StoredObjectSize"] == len(DATA) + 16


def test_paginated_listings_report_plaintext_sizes(client: Any, bucket: str, key_name: str) -> None:
    for name in ("a", "b", "c"):
        client.put_object(Bucket=bucket, Key=f"{key_name}/{name}", Body=DATA)
    paginator = client.get_paginator("list_objects_v2")
    pages = paginator.paginate(Bucket=bucket, Prefix=key_name, PaginationConfig={"PageSize": 2})
    entries = [entry for page in collect(client, pages) for entry in page["Contents"]]
    assert len(entries) == 3
    assert all(e["Size"] == len(DATA) and e["StoredSize"] == len(DATA) + 16 for e in entries)


def collect(client: Any, pages: Any) -> list[dict[str, Any]]:
    """The pages of a paginator, sync or async (aiobotocore's iterate asynchronously)."""
    if not hasattr(pages, "__aiter__"):
        return list(pages)

    async def gather() -> list[dict[str, Any]]:
        return [page async for page in pages]

    return client._runner.run(gather())  # type: ignore[no-any-return]
