"""Through ``s3cse://``, S3's error answers are the built-in exceptions every fsspec
filesystem (s3fs first) raises, so data tools handle them; s3cse's own findings (a
tampered object) stay s3cse errors and are never mistaken for a missing file."""

from __future__ import annotations

import errno
import os
import pickle
from pathlib import Path
from typing import Any

import fsspec
import pandas as pd
import pytest

from s3cse import EncryptionClient
from s3cse import errors as e
from s3cse.fs import S3CSEFileSystem

from ..keys import aes_keyring
from .test_integrity_index import tamper

pytestmark = pytest.mark.integration
MISSING_BUCKET = "no-such-bucket-s3cse"


@pytest.fixture
def options(stack: Any, key_file: str) -> dict[str, Any]:
    return {"aes_key_file": key_file, "endpoint_url": stack.s3_endpoint}


def assert_missing(error: BaseException, path: str) -> None:
    assert isinstance(error, FileNotFoundError) and isinstance(error, e.ObjectNotFoundError)
    assert error.errno == errno.ENOENT and error.filename == path
    assert "no such" in str(error) and "Check the bucket and key" in str(error)


@pytest.mark.parametrize("read", ["open", "cat_file", "cat_range", "read_bytes"])
def test_reading_a_missing_object_raises_file_not_found(
    fs: S3CSEFileSystem, bucket: str, key_name: str, read: str
) -> None:
    path = f"{bucket}/{key_name}/missing.csv"
    with pytest.raises(FileNotFoundError) as info:
        if read == "open":
            fs.open(path, "rb")
        elif read == "cat_file":
            fs.cat_file(path)
        elif read == "cat_range":
            fs.cat_file(path, start=0, end=10)
        else:
            fs.read_bytes(path)
    assert_missing(info.value, path)


def test_pandas_read_of_a_missing_file_raises_file_not_found(
    options: dict[str, Any], bucket: str, key_name: str
) -> None:
    with pytest.raises(FileNotFoundError):
        pd.read_csv(f"s3cse://{bucket}/{key_name}/missing.csv", storage_options=options)


def test_download_of_a_missing_object_raises_file_not_found(
    fs: S3CSEFileSystem, bucket: str, key_name: str, tmp_path: Path
) -> None:
    path = f"{bucket}/{key_name}/missing.bin"
    with pytest.raises(FileNotFoundError) as info:
        fs.get_file(path, str(tmp_path / "out.bin"))
    assert_missing(info.value, path)
    assert not (tmp_path / "out.bin").exists()


def test_writing_into_a_missing_bucket_raises_file_not_found(
    stack: Any, options: dict[str, Any]
) -> None:
    # on moto: SeaweedFS makes the bucket a write names
    fs = fsspec.filesystem(
        "s3cse", skip_instance_cache=True, **{**options, "endpoint_url": stack.moto_s3_endpoint}
    )
    path = f"{MISSING_BUCKET}/k"
    with pytest.raises(FileNotFoundError) as info:
        fs.pipe_file(path, b"data")
    assert_missing(info.value, path)


def test_wrong_credentials_raise_permission_error(
    options: dict[str, Any], s3: Any, bucket: str, key_name: str
) -> None:
    s3.put_object(Bucket=bucket, Key=key_name, Body=b"x" * 100)
    fs = fsspec.filesystem(
        "s3cse", skip_instance_cache=True, key="AKIDNOTAUSER", secret="not-the-secret", **options
    )
    with pytest.raises(PermissionError) as info:
        fs.cat(f"{bucket}/{key_name}")
    assert isinstance(info.value, e.S3RequestError) and info.value.errno == errno.EACCES


def test_tampered_object_stays_an_authentication_error(
    fs: S3CSEFileSystem, s3: Any, bucket: str, key_name: str
) -> None:
    EncryptionClient(aes_keyring(0), s3_client=s3).put_object(
        Bucket=bucket, Key=key_name, Body=os.urandom(1000)
    )
    tamper(s3, bucket, key_name, 10)
    with pytest.raises(e.AuthenticationError) as info:
        fs.cat(f"{bucket}/{key_name}")
    assert not isinstance(info.value, OSError)


def test_file_not_found_survives_pickling_to_another_process(
    fs: S3CSEFileSystem, bucket: str, key_name: str
) -> None:
    path = f"{bucket}/{key_name}/missing.bin"
    with pytest.raises(FileNotFoundError) as info:
        fs.cat_file(path)
    copy = pickle.loads(pickle.dumps(info.value))  # as Dask hands a worker's error back
    assert isinstance(copy, FileNotFoundError) and isinstance(copy, e.ObjectNotFoundError)
    assert str(copy) == str(info.value) and copy.errno == errno.ENOENT
