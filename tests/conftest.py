"""Shared fixtures. Integration tests get a real SeaweedFS + moto server on free loopback
ports, started once per session and stopped by PID at the end."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from s3cse import local


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


@pytest.fixture
def key_name(request: pytest.FixtureRequest) -> str:
    """A fresh object key per test, readable in the bucket listing."""
    return f"{request.node.name[:60]}/{uuid.uuid4().hex[:8]}"
