"""``s3cse://`` recursive downloads: a planted key never writes outside the folder.

fsspec's ``get(recursive=True)`` builds each local path by copying the key's tail onto
the destination folder; a key with ``..`` segments (which S3 stores, unlike SeaweedFS:
these tests run against moto's S3) would walk out of it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fsspec
import pytest

from s3cse import EncryptionClient
from s3cse import errors as e

from ..keys import aes_key, aes_keyring

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("planted", ["../../escaped.txt", "sub/./ok.txt", "sub/../sub/ok.txt"])
def test_recursive_get_writes_no_planted_key(
    stack: Any,
    moto_s3: Any,
    moto_bucket: str,
    key_name: str,
    tmp_path: Path,
    planted: str,
) -> None:
    """A key that walks out of the folder, or aliases another object's file, is refused;
    the genuine object's file keeps its own content."""
    writer = EncryptionClient(aes_keyring(0), s3_client=moto_s3)
    prefix = f"{key_name}/dl"
    writer.put_object(Bucket=moto_bucket, Key=f"{prefix}/sub/ok.txt", Body=b"genuine")
    writer.put_object(Bucket=moto_bucket, Key=f"{prefix}/{planted}", Body=b"planted")
    key_file = tmp_path / "aes.key"
    key_file.write_bytes(aes_key(0))
    fs = fsspec.filesystem(
        "s3cse",
        aes_key_file=str(key_file),
        skip_instance_cache=True,
        endpoint_url=stack.moto_s3_endpoint,
    )
    target = tmp_path / "out" / "a" / "b"
    target.mkdir(parents=True)
    # fsspec itself refuses destinations outside the folder in recent releases
    with pytest.raises((e.LocalPathError, ValueError), match=r"segment|outside"):
        fs.get(f"{moto_bucket}/{prefix}/", str(target) + "/", recursive=True)
    planted_files = [p for p in tmp_path.rglob("*") if p.is_file() and p.read_bytes() == b"planted"]
    assert planted_files == []


def test_a_destination_the_caller_names_is_kept(
    stack: Any,
    moto_s3: Any,
    moto_bucket: str,
    key_name: str,
    tmp_path: Path,
) -> None:
    """Only tails copied from the key are checked: naming the file yourself works."""
    writer = EncryptionClient(aes_keyring(0), s3_client=moto_s3)
    odd = f"{key_name}/x/../y.txt"
    writer.put_object(Bucket=moto_bucket, Key=odd, Body=b"odd but mine")
    key_file = tmp_path / "aes.key"
    key_file.write_bytes(aes_key(0))
    fs = fsspec.filesystem(
        "s3cse",
        aes_key_file=str(key_file),
        skip_instance_cache=True,
        endpoint_url=stack.moto_s3_endpoint,
    )
    fs.get_file(f"{moto_bucket}/{odd}", str(tmp_path / "mine.txt"))
    assert (tmp_path / "mine.txt").read_bytes() == b"odd but mine"
