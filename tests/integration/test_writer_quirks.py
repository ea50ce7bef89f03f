"""Objects as real AWS writers lay them out, quirks included (docs/writers.md), stored in
S3 as those writers store them, then read through the sync and async clients, the CLI
and ``s3cse://``. Each quirk is tolerated only for the legacy format it belongs to:
a reader without legacy modes still refuses every one of these objects."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fsspec
import pytest

from s3cse import KmsKeyring
from s3cse import errors as e

from .. import legacy
from ..conftest import MakeClient
from ..keys import aes_key, aes_keyring
from .test_cli import run

pytestmark = pytest.mark.integration
LEGACY_READER = {"legacy": True, "commitment_policy": "REQUIRE_ENCRYPT_ALLOW_DECRYPT"}
V2_READER = {"commitment_policy": "REQUIRE_ENCRYPT_ALLOW_DECRYPT"}
CONTEXT = {"team": "a/b"}

Build = Callable[[Any, str, bytes], legacy.Written]

WRITERS: dict[str, tuple[Build, str, dict[str, Any]]] = {
    # name: (builder(kms, kms_key_id, plaintext), keyring kind, reader options)
    "cpp-encryption-only": (
        lambda kms, kid, data: legacy.cpp_encryption_only(aes_key(0), data),
        "aes",
        LEGACY_READER,
    ),
    "go-v1-kms-cbc-instruction-file": (legacy.go_v1_kms_cbc_instruction_file, "kms", LEGACY_READER),
    "php-v2-aes128-instruction-file": (
        lambda kms, kid, data: legacy.php_v2_aes128_instruction_file(kms, kid, data, CONTEXT),
        "kms",
        V2_READER,
    ),
    "dotnet-legacy-instruction-file": (
        lambda kms, kid, data: legacy.dotnet_legacy_instruction_file(aes_key(0), data),
        "aes",
        LEGACY_READER,
    ),
}


def store(s3: Any, bucket: str, key: str, written: legacy.Written) -> None:
    ciphertext, md, suffix, body = written
    s3.put_object(Bucket=bucket, Key=key, Body=ciphertext, Metadata=md)
    if suffix is not None:
        s3.put_object(
            Bucket=bucket, Key=key + suffix, Body=body, Metadata={"x-amz-crypto-instr-file": ""}
        )


def keyring_for(kind: str, kms: Any, kms_key_id: str) -> Any:
    return aes_keyring(0) if kind == "aes" else KmsKeyring(kms_key_id, kms_client=kms)


def context_for(name: str) -> dict[str, str] | None:
    return CONTEXT if name.startswith("php") else None


@pytest.fixture(params=sorted(WRITERS))
def written(
    request: pytest.FixtureRequest, s3: Any, kms: Any, kms_key_id: str, bucket: str, key_name: str
) -> tuple[str, bytes]:
    plaintext = os.urandom(3000) + b"tail"
    builder = WRITERS[request.param][0]
    store(s3, bucket, key_name, builder(kms, kms_key_id, plaintext))
    return request.param, plaintext


def test_every_writer_reads(
    make_client: MakeClient, kms: Any, kms_key_id: str, bucket: str, key_name: str, written: Any
) -> None:
    name, plaintext = written
    _, kind, options = WRITERS[name]
    reader = make_client(keyring_for(kind, kms, kms_key_id), **options)
    got = reader.get_object(Bucket=bucket, Key=key_name, EncryptionContext=context_for(name))[
        "Body"
    ].read()
    assert got == plaintext


def test_a_reader_without_legacy_modes_refuses_them(
    make_client: MakeClient, kms: Any, kms_key_id: str, bucket: str, key_name: str, written: Any
) -> None:
    name, _ = written
    _, kind, _ = WRITERS[name]
    strict = make_client(keyring_for(kind, kms, kms_key_id))
    with pytest.raises((e.LegacyModeDisabledError, e.CommitmentPolicyError)):
        strict.get_object(Bucket=bucket, Key=key_name, EncryptionContext=context_for(name))


def test_every_writer_reads_through_the_cli(
    tmp_path: Path, kms_key_id: str, bucket: str, key_name: str, written: Any
) -> None:
    name, plaintext = written
    _, kind, options = WRITERS[name]
    key_file = tmp_path / "aes.key"
    key_file.write_bytes(aes_key(0))
    args: list[str] = (
        ["--aes-key-file", str(key_file)] if kind == "aes" else ["--kms-key-id", kms_key_id]
    )
    args += ["--legacy"] if options.get("legacy") else []
    args += ["--commitment-policy", "REQUIRE_ENCRYPT_ALLOW_DECRYPT"]
    for k, v in (context_for(name) or {}).items():
        args += ["--encryption-context", f"{k}={v}"]
    result = run("cp", f"s3://{bucket}/{key_name}", "-", *args)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == plaintext


def test_every_writer_reads_through_the_filesystem(
    stack: Any, tmp_path: Path, kms_key_id: str, bucket: str, key_name: str, written: Any
) -> None:
    name, plaintext = written
    _, kind, options = WRITERS[name]
    key_file = tmp_path / "aes.key"
    key_file.write_bytes(aes_key(0))
    keys = {"aes_key_file": str(key_file)} if kind == "aes" else {"kms_key_id": kms_key_id}
    fs = fsspec.filesystem(
        "s3cse",
        skip_instance_cache=True,
        endpoint_url=stack.s3_endpoint,
        encryption_context=context_for(name),
        **keys,
        **options,
    )
    assert fs.cat(f"{bucket}/{key_name}") == plaintext
