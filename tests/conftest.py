"""Shared fixtures. Integration tests get a real SeaweedFS + moto server on free loopback
ports, started once per session and stopped by PID at the end.

``make_client(keyring, **options)`` builds the s3cse client under test: the sync
``EncryptionClient`` or the ``AsyncEncryptionClient`` (through a test-only synchronous
facade, KMS through aiobotocore), so every case that uses it runs once for each."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from s3cse import EncryptionClient
from s3cse.aio import AsyncEncryptionClient
from s3cse.local import stack as local

from .aio_facade import LoopThread, SyncFacade, asyncify

MakeClient = Callable[..., Any]


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[local.LocalStack]:
    state = tmp_path_factory.mktemp("stack")
    running = local.start(state, buckets=("s3cse-test",), die_with_parent=True)
    saved = {k: os.environ.get(k) for k in running.env()}
    os.environ.update(running.env())
    try:
        yield running
    finally:
        local.stop(state)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(scope="session")
def s3(stack: local.LocalStack) -> Any:
    return boto3.client("s3")


@pytest.fixture(scope="session")
def kms(stack: local.LocalStack) -> Any:
    return boto3.client("kms")


@pytest.fixture(scope="session")
def bucket(s3: Any) -> str:
    return "s3cse-test"


@pytest.fixture(scope="session")
def kms_key_id(kms: Any) -> str:
    key_id: str = kms.create_key(Description="s3cse tests")["KeyMetadata"]["KeyId"]
    return key_id


@pytest.fixture(scope="session")
def moto_s3(stack: local.LocalStack) -> Any:
    """S3 served by moto: it stores keys with ``.``/``..`` segments and empty metadata
    values, as AWS does and SeaweedFS does not."""
    return boto3.client("s3", endpoint_url=stack.moto_s3_endpoint)


@pytest.fixture(scope="session")
def moto_bucket(moto_s3: Any) -> str:
    name = "s3cse-moto-test"
    moto_s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def key_name(request: pytest.FixtureRequest) -> str:
    """A fresh object key per test, readable in the bucket listing."""
    return f"{request.node.name[:60]}/{uuid.uuid4().hex[:8]}"


class AsyncStack:
    """aiobotocore S3 and KMS clients on one event loop thread, for the whole session."""

    def __init__(self) -> None:
        from aiobotocore.session import get_session

        self.runner = LoopThread()
        self._exit = contextlib.AsyncExitStack()
        session = get_session()

        async def open_clients() -> tuple[Any, Any]:
            s3 = await self._exit.enter_async_context(session.create_client("s3"))
            kms = await self._exit.enter_async_context(session.create_client("kms"))
            return s3, kms

        self.s3, self.kms = self.runner.run(open_clients())

    def client(self, keyring: Any = None, **options: Any) -> SyncFacade:
        if keyring is not None:
            keyring = asyncify(keyring, self.kms)
        return SyncFacade(AsyncEncryptionClient(keyring, s3_client=self.s3, **options), self.runner)

    def close(self) -> None:
        self.runner.run(self._exit.aclose())
        self.runner.close()


@pytest.fixture(scope="session")
def async_stack(stack: local.LocalStack) -> Iterator[AsyncStack]:
    opened = AsyncStack()
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture(params=["sync", "async"])
def client_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
def make_client(client_kind: str, request: pytest.FixtureRequest, s3: Any) -> MakeClient:
    """``make_client(keyring, **options)``: the client under test, sync or async."""
    if client_kind == "sync":

        def sync_client(keyring: Any = None, **options: Any) -> EncryptionClient:
            return EncryptionClient(keyring, s3_client=s3, **options)

        return sync_client
    async_stack: AsyncStack = request.getfixturevalue("async_stack")
    return async_stack.client
