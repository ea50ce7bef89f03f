"""Every real writer's objects (tests/vectors/writer-*.json, docs/writers.md section 10),
stored in S3 as that writer stores them and read by the sync and async clients.

Each vector's ciphertext and exact metadata go in with a plain boto3 ``put_object``, its
instruction file (raw body, with the writer's own marker metadata) at KEY + its suffix;
the s3cse client then has to find and parse all of it over real S3 (SeaweedFS) and
return exactly the plaintext, or refuse with the error the vector names. KMS rows get a
keyring whose KMS client is a stand-in accepting only the recorded Decrypt request: the
recorded blob was never made by a KMS, so no server could answer it.

SeaweedFS drops user metadata whose value is empty; AWS keeps it. The vectors with an
empty value (Java's and .NET's ``x-amz-crypto-instr-file: ""`` marker, the empty
``X-Amz-Tag-Len`` of Go's s3crypto before its fix) are read again from moto's S3, which
keeps them, after checking that the empty values are really there.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

import pytest

from s3cse import EncryptionClient
from s3cse.aio import AsyncEncryptionClient

from .. import writer_vectors as wv
from ..aio_facade import SyncFacade
from ..conftest import AsyncStack, MakeClient

pytestmark = pytest.mark.integration
VECTORS = wv.by_name()
WITH_EMPTY_VALUES = [name for name, vector in VECTORS.items() if wv.empty_values(vector)]


def store(s3: Any, bucket: str, key: str, vector: dict[str, Any]) -> None:
    """The object and its instruction file, as the writer puts them."""
    s3.put_object(Bucket=bucket, Key=key, Body=wv.ciphertext(vector), Metadata=vector["metadata"])
    body = vector["instruction_file_body"]
    if body is not None:
        s3.put_object(
            Bucket=bucket,
            Key=key + vector["instruction_suffix"],
            Body=body.encode("utf-8"),
            Metadata=vector["instruction_metadata"] or {},
        )


def keyring_for(vector: dict[str, Any], client_kind: str) -> tuple[Any, Any]:
    return wv.keyring(vector) if client_kind == "sync" else wv.async_keyring(vector)


def check_read(reader: Any, kms: Any, bucket: str, key: str, vector: dict[str, Any]) -> None:
    """Exactly the plaintext, or the refusal the vector names."""

    def get() -> bytes:
        response = reader.get_object(
            Bucket=bucket, Key=key, EncryptionContext=wv.caller_context(vector)
        )
        data: bytes = response["Body"].read()
        return data

    if vector["expect"] == "plaintext":
        assert get() == wv.plaintext(vector)
        if kms is not None:
            assert kms.decrypt_calls == 1
        return
    error, message = wv.refusal(vector)
    with pytest.raises(error, match=re.escape(message)):
        get()


@pytest.mark.parametrize("name", list(VECTORS))
def test_every_writer_vector_reads(
    name: str, make_client: MakeClient, client_kind: str, s3: Any, bucket: str, key_name: str
) -> None:
    vector = VECTORS[name]
    store(s3, bucket, key_name, vector)
    keyring, kms = keyring_for(vector, client_kind)
    reader = make_client(keyring, **wv.reader_options(vector))
    check_read(reader, kms, bucket, key_name, vector)


# ------------------------------------------------------------------ empty values: moto


@pytest.fixture(scope="module")
def moto_async_s3(stack: Any, async_stack: AsyncStack) -> Iterator[Any]:
    """An aiobotocore S3 client for moto, on the async clients' event loop."""
    from aiobotocore.session import get_session

    opened = contextlib.AsyncExitStack()

    async def open_client() -> Any:
        return await opened.enter_async_context(
            get_session().create_client("s3", endpoint_url=stack.moto_s3_endpoint)
        )

    client = async_stack.runner.run(open_client())
    try:
        yield client
    finally:
        async_stack.runner.run(opened.aclose())


def moto_reader(
    client_kind: str, request: pytest.FixtureRequest, keyring: Any, options: dict[str, Any]
) -> Any:
    if client_kind == "sync":
        return EncryptionClient(keyring, s3_client=request.getfixturevalue("moto_s3"), **options)
    async_stack: AsyncStack = request.getfixturevalue("async_stack")
    s3 = request.getfixturevalue("moto_async_s3")
    return SyncFacade(AsyncEncryptionClient(keyring, s3_client=s3, **options), async_stack.runner)


def stored_metadata(s3: Any, bucket: str, key: str) -> dict[str, str]:
    metadata = s3.head_object(Bucket=bucket, Key=key)["Metadata"]
    return {k.lower(): v for k, v in metadata.items()}


def test_some_vectors_carry_empty_values() -> None:
    """So that the moto runs below are not an empty set."""
    assert {"object", "instruction"} <= {
        where for name in WITH_EMPTY_VALUES for where in wv.empty_values(VECTORS[name])
    }


@pytest.mark.parametrize("name", WITH_EMPTY_VALUES)
def test_empty_valued_headers_arrive_and_are_read(
    name: str,
    client_kind: str,
    request: pytest.FixtureRequest,
    moto_s3: Any,
    moto_bucket: str,
    key_name: str,
) -> None:
    vector = VECTORS[name]
    store(moto_s3, moto_bucket, key_name, vector)
    empty = wv.empty_values(vector)
    targets = {"object": key_name, "instruction": key_name + str(vector["instruction_suffix"])}
    for where, names in empty.items():
        stored = stored_metadata(moto_s3, moto_bucket, targets[where])
        assert {n.lower(): stored.get(n.lower()) for n in names} == {n.lower(): "" for n in names}
    keyring, kms = keyring_for(vector, client_kind)
    reader = moto_reader(client_kind, request, keyring, wv.reader_options(vector))
    check_read(reader, kms, moto_bucket, key_name, vector)
