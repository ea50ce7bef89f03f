"""s3cse and the official AWS S3 Encryption Client for Python read each other's objects.

The s3cse side of every case runs twice, through the sync ``EncryptionClient`` and through
the ``AsyncEncryptionClient`` (``make_client`` in tests/conftest.py).

The official client (amazon-s3-encryption-client-python) lives in its own virtual
environment (it pins an older cryptography) and is driven as a subprocess through
``peers/official_driver.py``. Both talk to the same local SeaweedFS + moto stack: the
``stack`` fixture exports its endpoints and credentials into ``os.environ``, which the
subprocess inherits. Data crosses the process boundary as files under ``tmp_path``.

What the official client 4.0.0 can and cannot do, from its source:

* It writes object-metadata placement only: ``S3EncryptionClientPlugin.
  on_put_object_before_call`` always copies the encryption metadata into ``x-amz-meta-*``
  request headers, and refuses to ``put_object`` at all while in instruction-file mode.
  So there is no official-written instruction file to read; instead
  ``test_s3cse_reads_official_layout_instruction_file`` moves an official object's
  metadata into an instruction file laid out as the official reader expects (checked by
  letting the official client read it first), then reads it with s3cse.
* It reads instruction files (``GetEncryptedObjectPipeline.decrypt`` fetches
  ``KEY + suffix`` when the object metadata holds no wrapped data key).
* Reading V2 (non-committing) objects needs a commitment policy that allows it.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from s3cse import CryptoConfig, FormatVersion, KmsKeyring
from s3cse.core.metadata import (
    COMMITMENT_V3,
    CONTENT_CIPHER_V3,
    CONTEXT_V3,
    KEY_V2,
    KEY_V3,
    MATDESC,
    MESSAGE_ID_V3,
    V1_V2_KEYS,
    V3_KEYS,
    WRAP_ALG_V3,
)
from s3cse.errors import EncryptionContextMismatchError

from ..conftest import MakeClient

pytestmark = [pytest.mark.interop, pytest.mark.integration]

DRIVER = Path(__file__).parent / "peers" / "official_driver.py"
PEER = "amazon-s3-encryption-client-python"
PEER_TIMEOUT = 180  # seconds for one driver call (a 20 MiB object included)
MIB = 1024 * 1024
SIZES = [0, 1, 16, 17, MIB + 3, 20 * MIB]
BIG = 20 * MIB  # v3 only: V2 is legacy-compatible, the bulk path is exercised on V3
CONTEXT = {"tenant": "t1", "purpose": "interop"}
FORMATS = ["v3", "v2"]
CRYPTO_KEYS = V1_V2_KEYS | V3_KEYS


def _peer_python() -> str:
    """The official client's interpreter; skip (or, under CI, fail) when it is absent."""
    python = os.environ.get("S3CSE_OFFICIAL_PYTHON", "")
    if python and os.path.isfile(python) and os.access(python, os.X_OK):
        return python
    reason = (
        "S3CSE_OFFICIAL_PYTHON is not set"
        if not python
        else f"S3CSE_OFFICIAL_PYTHON={python!r} is not an executable file"
    )
    reason += (
        ": the official-client interop tests need the peer venv "
        "(`make peers`, then S3CSE_OFFICIAL_PYTHON=.venv-peers/official/bin/python, "
        "or run `make test`)"
    )
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(f"CI is set, interop must not be skipped: {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


OFFICIAL_PYTHON = _peer_python()


def _size_id(size: int) -> str:
    if size < MIB:
        return f"{size}B"
    return f"{size // MIB}MiB" + (f"+{size % MIB}B" if size % MIB else "")


def _cases(placements: list[str]) -> list[Any]:
    return [
        pytest.param(fmt, placement, size, id=f"{fmt}-{placement}-{_size_id(size)}")
        for fmt in FORMATS
        for placement in placements
        for size in SIZES
        if not (size == BIG and fmt != "v3")
    ]


# ---------------------------------------------------------------- helpers

Official = Callable[..., dict[str, Any]]


@pytest.fixture(scope="session")
def official(stack: Any, bucket: str, kms_key_id: str) -> Official:
    """Run one request through the official client; returns its JSON verdict."""

    def run(op: str, key: str, file: Path, **fields: Any) -> dict[str, Any]:
        request = {
            "op": op,
            "bucket": bucket,
            "key": key,
            "kms_key_id": kms_key_id,
            "file": str(file),
            **fields,
        }
        try:
            done = subprocess.run(
                [OFFICIAL_PYTHON, str(DRIVER), json.dumps(request)],
                env=dict(os.environ),
                capture_output=True,
                text=True,
                timeout=PEER_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"official client {op} of {key!r} timed out after {PEER_TIMEOUT}s")
        lines = done.stdout.strip().splitlines()
        if done.returncode != 0 or not lines:
            pytest.fail(
                f"official driver crashed (exit {done.returncode}) on {op} {key!r}:\n"
                f"stdout: {done.stdout[-2000:]}\nstderr: {done.stderr[-4000:]}"
            )
        verdict: dict[str, Any] = json.loads(lines[-1])
        return verdict

    return run


def s3cse_client(make_client: MakeClient, fmt: str, kms: Any, kms_key_id: str) -> Any:
    """The s3cse client under test (sync, or async through its facade: see conftest)."""
    return make_client(
        KmsKeyring(kms_key_id, kms_client=kms),
        config=CryptoConfig(format=FormatVersion.parse(fmt)),
    )


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for block in iter(lambda: source.read(MIB), b""):
            digest.update(block)
    return digest.hexdigest()


def write_plaintext(tmp_path: Path, size: int) -> Path:
    path = tmp_path / "plaintext.bin"
    path.write_bytes(os.urandom(size))
    return path


def crypto_metadata(s3: Any, bucket: str, key: str) -> dict[str, str]:
    head = s3.head_object(Bucket=bucket, Key=key)
    return {k: v for k, v in head["Metadata"].items() if k in CRYPTO_KEYS}


def exists(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except s3.exceptions.ClientError as exc:
        if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


def assert_ok(verdict: dict[str, Any]) -> None:
    assert verdict["ok"], f"official client failed: {verdict}"


# ---------------------------------------------------------------- s3cse writes, official reads


@pytest.mark.parametrize(("fmt", "placement", "size"), _cases(["metadata", "instruction"]))
def test_official_reads_s3cse(
    make_client: MakeClient,
    fmt: str,
    placement: str,
    size: int,
    official: Official,
    s3: Any,
    kms: Any,
    kms_key_id: str,
    bucket: str,
    key_name: str,
    tmp_path: Path,
) -> None:
    plaintext = write_plaintext(tmp_path, size)
    client = s3cse_client(make_client, fmt, kms, kms_key_id)
    with plaintext.open("rb") as body:
        client.put_object(
            Bucket=bucket,
            Key=key_name,
            Body=body,
            EncryptionContext=CONTEXT,
            InstructionFile=placement == "instruction",
        )

    # The layout the official reader will see.
    object_md = crypto_metadata(s3, bucket, key_name)
    instruction_key = key_name + ".instruction"
    if placement == "metadata":
        assert (KEY_V3 if fmt == "v3" else KEY_V2) in object_md
        assert not exists(s3, bucket, instruction_key)
    else:
        instruction = json.loads(s3.get_object(Bucket=bucket, Key=instruction_key)["Body"].read())
        if fmt == "v3":
            assert set(object_md) == {CONTENT_CIPHER_V3, COMMITMENT_V3, MESSAGE_ID_V3}
            assert set(instruction) == {KEY_V3, WRAP_ALG_V3, CONTEXT_V3}
        else:
            assert object_md == {}
            assert KEY_V2 in instruction and MATDESC in instruction

    out = tmp_path / "official-plaintext.bin"
    verdict = official("get", key_name, out, format=fmt, context=CONTEXT)
    assert_ok(verdict)
    assert out.stat().st_size == size
    assert sha256_file(out) == sha256_file(plaintext)


@pytest.mark.parametrize(
    ("policy", "readable"),
    [
        ("FORBID_ENCRYPT_ALLOW_DECRYPT", True),
        ("REQUIRE_ENCRYPT_ALLOW_DECRYPT", True),
        ("REQUIRE_ENCRYPT_REQUIRE_DECRYPT", False),
    ],
)
def test_official_v2_read_policy(
    make_client: MakeClient,
    policy: str,
    readable: bool,
    official: Official,
    s3: Any,
    kms: Any,
    kms_key_id: str,
    bucket: str,
    key_name: str,
    tmp_path: Path,
) -> None:
    """s3cse V2 objects need an official reader whose policy allows non-committing suites."""
    plaintext = write_plaintext(tmp_path, 17)
    client = s3cse_client(make_client, "v2", kms, kms_key_id)
    client.put_object(
        Bucket=bucket, Key=key_name, Body=plaintext.read_bytes(), EncryptionContext=CONTEXT
    )
    out = tmp_path / "official-plaintext.bin"
    verdict = official("get", key_name, out, policy=policy, context=CONTEXT)
    if readable:
        assert_ok(verdict)
        assert sha256_file(out) == sha256_file(plaintext)
    else:
        # s3_encryption/pipelines.py: REQUIRE_ENCRYPT_REQUIRE_DECRYPT refuses
        # non-key-committing objects before touching the content.
        assert not verdict["ok"]
        assert verdict["error_type"] == "S3EncryptionClientError"
        assert "cannot decrypt non-key-committing object" in verdict["error"]
        assert not out.exists()


# ---------------------------------------------------------------- official writes, s3cse reads


@pytest.mark.parametrize(("fmt", "placement", "size"), _cases(["metadata"]))
def test_s3cse_reads_official(
    make_client: MakeClient,
    fmt: str,
    placement: str,
    size: int,
    official: Official,
    s3: Any,
    kms: Any,
    kms_key_id: str,
    bucket: str,
    key_name: str,
    tmp_path: Path,
) -> None:
    plaintext = write_plaintext(tmp_path, size)
    assert_ok(official("put", key_name, plaintext, format=fmt, context=CONTEXT))

    # The official client only ever writes the metadata into the object itself.
    object_md = crypto_metadata(s3, bucket, key_name)
    assert (KEY_V3 if fmt == "v3" else KEY_V2) in object_md
    assert not exists(s3, bucket, key_name + ".instruction")

    client = s3cse_client(make_client, fmt, kms, kms_key_id)
    response = client.get_object(Bucket=bucket, Key=key_name, EncryptionContext=CONTEXT)
    assert response["ContentLength"] == size
    out = tmp_path / "s3cse-plaintext.bin"
    out.write_bytes(response["Body"].read())
    assert sha256_file(out) == sha256_file(plaintext)


@pytest.mark.parametrize("fmt", FORMATS)
def test_s3cse_reads_official_layout_instruction_file(
    make_client: MakeClient,
    fmt: str,
    official: Official,
    s3: Any,
    kms: Any,
    kms_key_id: str,
    bucket: str,
    key_name: str,
    tmp_path: Path,
) -> None:
    """The official client cannot write instruction files (see the module docstring), so
    move an official object's metadata into one, laid out the way its reader expects."""
    plaintext = write_plaintext(tmp_path, MIB + 3)
    assert_ok(official("put", key_name, plaintext, format=fmt, context=CONTEXT))
    raw = s3.get_object(Bucket=bucket, Key=key_name)
    ciphertext = raw["Body"].read()
    crypto = {k: v for k, v in raw["Metadata"].items() if k in CRYPTO_KEYS}
    # V3 keeps the content keys in the object; V1/V2 put everything in the file.
    stays = {CONTENT_CIPHER_V3, COMMITMENT_V3, MESSAGE_ID_V3} if fmt == "v3" else set()
    s3.put_object(
        Bucket=bucket,
        Key=key_name,
        Body=ciphertext,
        Metadata={k: v for k, v in crypto.items() if k in stays},
    )
    s3.put_object(
        Bucket=bucket,
        Key=key_name + ".instruction",
        Body=json.dumps({k: v for k, v in crypto.items() if k not in stays}),
    )

    out = tmp_path / "official-plaintext.bin"
    assert_ok(official("get", key_name, out, format=fmt, context=CONTEXT))
    assert sha256_file(out) == sha256_file(plaintext)

    client = s3cse_client(make_client, fmt, kms, kms_key_id)
    response = client.get_object(Bucket=bucket, Key=key_name, EncryptionContext=CONTEXT)
    assert hashlib.sha256(response["Body"].read()).hexdigest() == sha256_file(plaintext)


# ---------------------------------------------------------------- encryption context mismatch

WRONG_CONTEXTS = [
    pytest.param({"tenant": "t2", "purpose": "interop"}, id="other-value"),
    pytest.param({"tenant": "t1"}, id="missing-key"),
    pytest.param({**CONTEXT, "extra": "x"}, id="extra-key"),
    pytest.param(None, id="none"),
]


@pytest.mark.parametrize("wrong", WRONG_CONTEXTS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_s3cse_refuses_official_object_with_wrong_context(
    make_client: MakeClient,
    fmt: str,
    wrong: dict[str, str] | None,
    official: Official,
    s3: Any,
    kms: Any,
    kms_key_id: str,
    bucket: str,
    key_name: str,
    tmp_path: Path,
) -> None:
    plaintext = write_plaintext(tmp_path, 17)
    assert_ok(official("put", key_name, plaintext, format=fmt, context=CONTEXT))
    client = s3cse_client(make_client, fmt, kms, kms_key_id)
    with pytest.raises(EncryptionContextMismatchError):
        client.get_object(Bucket=bucket, Key=key_name, EncryptionContext=wrong)


@pytest.mark.parametrize("wrong", WRONG_CONTEXTS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_official_refuses_s3cse_object_with_wrong_context(
    make_client: MakeClient,
    fmt: str,
    wrong: dict[str, str] | None,
    official: Official,
    s3: Any,
    kms: Any,
    kms_key_id: str,
    bucket: str,
    key_name: str,
    tmp_path: Path,
) -> None:
    plaintext = write_plaintext(tmp_path, 17)
    client = s3cse_client(make_client, fmt, kms, kms_key_id)
    client.put_object(
        Bucket=bucket, Key=key_name, Body=plaintext.read_bytes(), EncryptionContext=CONTEXT
    )
    out = tmp_path / "official-plaintext.bin"
    verdict = official("get", key_name, out, format=fmt, context=wrong)
    assert not verdict["ok"], "the official client decrypted with the wrong context"
    # s3_encryption/materials/kms_keyring.py: the stored context, minus the reserved
    # keys, must equal the requested one, checked before KMS is called.
    assert verdict["error"] == (
        "S3EncryptionClientError: "
        "Provided encryption context does not match information retrieved from S3"
    )
    assert not out.exists()


def test_driver_runs_the_official_client() -> None:
    """Guard against the peer venv silently holding something else."""
    done = subprocess.run(
        [OFFICIAL_PYTHON, "-c", f"import importlib.metadata as m; print(m.version({PEER!r}))"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "4.0.0"
    assert sys.executable != OFFICIAL_PYTHON
