"""Checks the client makes before it sends anything (no server needed: nothing is sent)."""

from __future__ import annotations

import io
import os
from typing import Any

import pytest

from s3cse import EncryptionClient
from s3cse import errors as e
from s3cse.core.suites import GCM_MAX_PLAINTEXT

from ..keys import aes_keyring


class NoNetwork:
    """An S3 client stand-in that fails the test if the client tries to call S3."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"S3 was called ({name}) although the request is invalid")


class HugeFile(io.RawIOBase):
    """Claims to be larger than AES-GCM allows, without holding the bytes."""

    def __init__(self, size: int) -> None:
        self.size, self.position = size, 0

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        self.position = self.size + offset if whence == os.SEEK_END else offset
        return self.position

    def readinto(self, buffer: Any) -> int:
        raise AssertionError("the body was read although it is too large")


def test_body_over_the_gcm_limit_is_refused_before_upload() -> None:
    client = EncryptionClient(aes_keyring(0), s3_client=NoNetwork())
    with pytest.raises(e.ContentTooLargeError, match="at most") as info:
        client.put_object(Bucket="b", Key="k", Body=HugeFile(GCM_MAX_PLAINTEXT + 1))
    assert "s3://b/k" in str(info.value)


@pytest.mark.parametrize("arg", ["ContentMD5", "ChecksumSHA256", "ContentLength"])
def test_plaintext_checksums_are_refused_before_upload(arg: str) -> None:
    client = EncryptionClient(aes_keyring(0), s3_client=NoNetwork())
    with pytest.raises(e.ConfigurationError, match=arg):
        client.put_object(Bucket="b", Key="k", Body=b"x", **{arg: "1"})


def test_body_of_wrong_type_is_refused() -> None:
    client = EncryptionClient(aes_keyring(0), s3_client=NoNetwork())
    with pytest.raises(e.ConfigurationError, match="Body must be"):
        client.put_object(Bucket="b", Key="k", Body=12345)  # type: ignore[arg-type]


def test_keyring_xor_materials() -> None:
    with pytest.raises(e.ConfigurationError, match="exactly one"):
        EncryptionClient(s3_client=NoNetwork())
