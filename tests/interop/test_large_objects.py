"""Peers decrypt s3cse's parallel multipart uploads of large objects (>= 100 MiB)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from s3cse import EncryptionClient, KmsKeyring

pytestmark = [pytest.mark.interop, pytest.mark.integration]
PEERS = Path(__file__).parent / "peers"
SIZE = 100 * 1024 * 1024 + 5


def peer(variable: str) -> str:
    python = os.environ.get(variable, "")
    if python and os.access(python, os.X_OK):
        return python
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(f"CI is set, interop must not be skipped: {variable} is not usable")
    pytest.skip(f"{variable} is not set: run `make test` or `make peers`")


def run_peer(python: str, driver: str, request: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [python, str(PEERS / driver), json.dumps(request)],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0 and lines, done.stderr[-3000:]
    verdict: dict[str, Any] = json.loads(lines[-1])
    return verdict


def digest(path: Path) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            hasher.update(block)
    return hasher.hexdigest()


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "plain.bin"
    with open(path, "wb") as sink:
        for _ in range(SIZE // (1 << 20)):
            sink.write(os.urandom(1 << 20))
        sink.write(os.urandom(SIZE % (1 << 20)))
    return path


@pytest.mark.parametrize(
    ("fmt", "reader"), [("v3", "official"), ("v2", "official"), ("v2", "aioboto3")]
)
def test_peer_decrypts_parallel_multipart_upload(
    fmt: str,
    reader: str,
    big_file: Path,
    s3: Any,
    kms: Any,
    kms_key_id: str,
    bucket: str,
    key_name: str,
    tmp_path: Path,
) -> None:
    client = EncryptionClient(KmsKeyring(kms_key_id, kms_client=kms), s3_client=s3, format=fmt)
    client.upload_file(big_file, bucket, key_name)
    head = s3.head_object(Bucket=bucket, Key=key_name)
    assert head["ContentLength"] == SIZE + 16 and "-" in head["ETag"]  # really multipart
    out = tmp_path / "out.bin"
    if reader == "official":
        verdict = run_peer(
            peer("S3CSE_OFFICIAL_PYTHON"),
            "official_driver.py",
            {
                "op": "get",
                "bucket": bucket,
                "key": key_name,
                "kms_key_id": kms_key_id,
                "file": str(out),
                "format": fmt,
                **({"policy": "FORBID_ENCRYPT_ALLOW_DECRYPT"} if fmt == "v2" else {}),
            },
        )
    else:
        verdict = run_peer(
            peer("S3CSE_AIOBOTO3_PYTHON"),
            "aioboto3_driver.py",
            {
                "op": "get",
                "bucket": bucket,
                "key": key_name,
                "context": "kms",
                "kms_key_id": kms_key_id,
                "authenticated": True,
                "file": str(out),
            },
        )
    assert verdict.get("ok"), verdict
    assert digest(out) == digest(big_file)
