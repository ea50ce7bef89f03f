"""Fixtures for the s3cse:// filesystem tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fsspec
import pytest

from s3cse.fs import S3CSEFileSystem

from ..keys import aes_key


@pytest.fixture
def key_file(tmp_path: Path) -> str:
    """The test AES key (``aes_key(0)``) in a file, as ``s3cse keygen aes`` writes it."""
    path = tmp_path / "aes.key"
    path.write_bytes(aes_key(0))
    return str(path)


@pytest.fixture
def fs(stack: Any, key_file: str) -> S3CSEFileSystem:
    return fsspec.filesystem(
        "s3cse", aes_key_file=key_file, skip_instance_cache=True, endpoint_url=stack.s3_endpoint
    )
