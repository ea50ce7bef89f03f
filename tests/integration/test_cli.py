"""The ``s3cse`` command, run for real in a subprocess against the local S3 + KMS stack.

Every test checks what a user would see: the exit code, stdout/stderr, the files left
on disk, and (through a plain boto3 client) what S3 actually stores.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

pytestmark = pytest.mark.integration

TIMEOUT = 60
V3_CONTENT_KEYS = {"x-amz-c", "x-amz-d", "x-amz-i"}
V2_KEYS = {
    "x-amz-key-v2",
    "x-amz-iv",
    "x-amz-cek-alg",
    "x-amz-tag-len",
    "x-amz-wrap-alg",
    "x-amz-matdesc",
}
CONTEXT = {"dept": "finance", "team": "ops"}
MATDESC = {"aes": {"key": "aes-2026"}, "rsa": {"key": "rsa-2026"}}
V2_WRAP = {"kms": "kms+context", "aes": "AES/GCM", "rsa": "RSA-OAEP-SHA1"}
V3_WRAP = {"kms": "12", "aes": "02", "rsa": "22"}


def run(*args: Any, stdin: bytes | None = None, cwd: Path | None = None) -> Any:
    """Run ``python -m s3cse.cli ARGS`` with the test environment (the stack's endpoints)."""
    env = {k: v for k, v in os.environ.items() if k != "S3CSE_DEBUG"}
    return subprocess.run(
        [sys.executable, "-m", "s3cse.cli", *map(str, args)],
        input=stdin if stdin is not None else b"",
        capture_output=True,
        env=env,
        cwd=cwd,
        timeout=TIMEOUT,
        check=False,
    )


def err(result: Any) -> str:
    text: str = result.stderr.decode()
    return text


def assert_clean_error(result: Any, code: int, *fragments: str) -> str:
    """One ``s3cse: error:`` line on stderr, no traceback, the given exit code."""
    stderr = err(result)
    assert result.returncode == code, (result.returncode, stderr)
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("s3cse: error:"), stderr
    for fragment in fragments:
        assert fragment in lines[0], stderr
    return lines[0]


def crypto_keys(metadata: dict[str, str]) -> set[str]:
    return {k for k in metadata if k.startswith("x-amz-")}


@dataclass(frozen=True)
class Keys:
    aes: Path
    other_aes: Path
    rsa: Path
    rsa_pub: Path


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    d = tmp_path_factory.mktemp("keys")
    made = Keys(d / "aes.key", d / "other.key", d / "rsa.pem", d / "rsa.pub")
    for path in (made.aes, made.other_aes):
        assert run("keygen", "aes", path).returncode == 0
    result = run("keygen", "rsa", made.rsa, "--bits", "2048", "--public-out", made.rsa_pub)
    assert result.returncode == 0, err(result)
    return made


def key_args(kind: str, keys: Keys, kms_key_id: str) -> list[str]:
    if kind == "kms":
        args = ["--kms-key-id", kms_key_id]
        for name, value in CONTEXT.items():
            args += ["--encryption-context", f"{name}={value}"]
        return args
    path = keys.aes if kind == "aes" else keys.rsa
    return [f"--{kind}-key-file", str(path), "--matdesc", json.dumps(MATDESC[kind])]


@dataclass(frozen=True)
class Shared:
    """Objects uploaded once through the CLI, for tests that only read them."""

    data: bytes
    v3: str
    v2: str


@pytest.fixture(scope="module")
def shared(keys: Keys, bucket: str, tmp_path_factory: pytest.TempPathFactory) -> Shared:
    src = tmp_path_factory.mktemp("shared") / "report.bin"
    data = os.urandom(50_003)
    src.write_bytes(data)
    prefix = f"s3://{bucket}/cli-shared-{uuid.uuid4().hex[:8]}"
    made = Shared(data, f"{prefix}/report.bin", f"{prefix}/report-v2.bin")
    for url, fmt in ((made.v3, "v3"), (made.v2, "v2")):
        result = run("cp", src, url, *key_args("aes", keys, ""), "--format", fmt)
        assert result.returncode == 0, err(result)
    return made


def s3_key(url: str) -> str:
    return url.split("/", 3)[3]


@pytest.fixture
def plaintext_file(tmp_path: Path) -> tuple[Path, bytes]:
    data = os.urandom(70_001)
    path = tmp_path / "report.bin"
    path.write_bytes(data)
    return path, data


# ---------------------------------------------------------------------------- keygen


def test_keygen_aes_writes_private_key_and_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "aes.key"
    result = run("keygen", "aes", path)
    assert result.returncode == 0, err(result)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = path.read_bytes()
    assert len(base64.b64decode(first.strip(), validate=True)) == 32

    refused = run("keygen", "aes", path)
    assert_clean_error(refused, 2, "--force")
    assert path.read_bytes() == first

    path.chmod(0o644)
    forced = run("keygen", "aes", path, "--force")
    assert forced.returncode == 0, err(forced)
    second = path.read_bytes()
    assert second != first
    assert len(base64.b64decode(second.strip(), validate=True)) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_keygen_rsa_writes_private_and_public_pem(tmp_path: Path) -> None:
    private_path, public_path = tmp_path / "rsa.pem", tmp_path / "rsa.pub"
    result = run("keygen", "rsa", private_path, "--bits", "2048", "--public-out", public_path)
    assert result.returncode == 0, err(result)
    assert "2048-bit" in result.stdout.decode()
    assert stat.S_IMODE(private_path.stat().st_mode) == 0o600
    private_pem, public_pem = private_path.read_bytes(), public_path.read_bytes()
    assert private_pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert public_pem.startswith(b"-----BEGIN PUBLIC KEY-----")
    assert b"PRIVATE" not in public_pem
    private = serialization.load_pem_private_key(private_pem, password=None)
    public = serialization.load_pem_public_key(public_pem)
    assert isinstance(private, rsa.RSAPrivateKey) and isinstance(public, rsa.RSAPublicKey)
    assert private.key_size == 2048
    assert public.public_numbers() == private.public_key().public_numbers()


def test_keygen_rsa_refuses_small_keys(tmp_path: Path) -> None:
    path = tmp_path / "weak.pem"
    result = run("keygen", "rsa", path, "--bits", "1024")
    assert_clean_error(result, 2, "2048")
    assert not path.exists()


# ---------------------------------------------------------------------------- round trips


# Every key option in both formats; the instruction file with both formats and every
# keyring (the full cross product runs in-process in test_roundtrip.py).
ROUND_TRIPS = [
    ("kms", "v3", "metadata"),
    ("kms", "v2", "instruction"),
    ("aes", "v3", "instruction"),
    ("aes", "v2", "metadata"),
    ("rsa", "v3", "metadata"),
    ("rsa", "v2", "instruction"),
]


@pytest.mark.parametrize(
    ("kind", "fmt", "placement"), ROUND_TRIPS, ids=["-".join(case) for case in ROUND_TRIPS]
)
def test_cp_round_trip(
    kind: str,
    fmt: str,
    placement: str,
    keys: Keys,
    kms_key_id: str,
    s3: Any,
    bucket: str,
    key_name: str,
    plaintext_file: tuple[Path, bytes],
    tmp_path: Path,
) -> None:
    src, data = plaintext_file
    args = [*key_args(kind, keys, kms_key_id), "--format", fmt]
    if placement == "instruction":
        args.append("--instruction-file")
    url = f"s3://{bucket}/{key_name}"

    up = run("cp", src, url, *args)
    assert up.returncode == 0, err(up)
    assert up.stdout.decode().strip() == f"upload: {src} to {url}"

    # What S3 stores: ciphertext + 16-byte tag, and the encryption metadata.
    raw = s3.get_object(Bucket=bucket, Key=key_name)
    stored, object_md = raw["Body"].read(), raw["Metadata"]
    assert len(stored) == len(data) + 16
    assert stored[: len(data)] != data and data[:64] not in stored
    if placement == "instruction":
        body = s3.get_object(Bucket=bucket, Key=key_name + ".instruction")["Body"].read()
        key_md: dict[str, str] = json.loads(body)
    else:
        key_md = object_md
    context_name = {"v3": "x-amz-t" if kind == "kms" else "x-amz-m", "v2": "x-amz-matdesc"}[fmt]
    if fmt == "v3":
        key_keys = {"x-amz-3", "x-amz-w", context_name}
        assert object_md["x-amz-c"] == "115"
        assert key_md["x-amz-w"] == V3_WRAP[kind]
        if placement == "instruction":
            assert crypto_keys(object_md) == V3_CONTENT_KEYS
            assert set(key_md) == key_keys
        else:
            assert crypto_keys(object_md) == V3_CONTENT_KEYS | key_keys
    else:
        assert crypto_keys(key_md) == V2_KEYS
        assert key_md["x-amz-wrap-alg"] == V2_WRAP[kind]
        assert key_md["x-amz-cek-alg"] == "AES/GCM/NoPadding"
        assert key_md["x-amz-tag-len"] == "128"
        if placement == "instruction":
            assert not crypto_keys(object_md) & V2_KEYS
    expected_context = CONTEXT if kind == "kms" else MATDESC[kind]
    assert expected_context.items() <= json.loads(key_md[context_name]).items()

    # Decrypt: v2 objects need --format v2 or a policy that allows non-committing reads.
    out = tmp_path / "out.bin"
    down = run("cp", url, out, *args)
    assert down.returncode == 0, err(down)
    assert down.stdout.decode().strip() == f"download: {url} to {out}"
    assert out.read_bytes() == data
    if fmt == "v2":
        read_args = [a for a in args if a not in ("--format", "v2")]
        streamed = run(
            "cp", url, "-", *read_args, "--commitment-policy", "REQUIRE_ENCRYPT_ALLOW_DECRYPT"
        )
        assert streamed.returncode == 0, err(streamed)
        assert streamed.stdout == data


def test_wrong_aes_key_cannot_read(keys: Keys, shared: Shared, tmp_path: Path) -> None:
    url = shared.v3
    out = tmp_path / "out" / "wrong.bin"
    out.parent.mkdir()
    result = run("cp", url, out, "--aes-key-file", keys.other_aes)
    assert_clean_error(result, 1, url)
    assert list(out.parent.iterdir()) == []


def test_public_key_encrypts_but_cannot_decrypt(
    keys: Keys,
    s3: Any,
    bucket: str,
    key_name: str,
    plaintext_file: tuple[Path, bytes],
    tmp_path: Path,
) -> None:
    src, data = plaintext_file
    url = f"s3://{bucket}/{key_name}"
    up = run("cp", src, url, "--rsa-key-file", keys.rsa_pub)
    assert up.returncode == 0, err(up)
    assert "x-amz-3" in s3.head_object(Bucket=bucket, Key=key_name)["Metadata"]

    out = tmp_path / "out.bin"
    refused = run("cp", url, out, "--rsa-key-file", keys.rsa_pub)
    line = assert_clean_error(refused, 2, f"--rsa-key-file {keys.rsa_pub}")  # a key file error
    assert "private key" in line
    assert not out.exists()

    down = run("cp", url, out, "--rsa-key-file", keys.rsa)
    assert down.returncode == 0, err(down)
    assert out.read_bytes() == data


# ---------------------------------------------------------------------------- stdin, stdout, names


def test_stdin_to_s3_and_s3_to_stdout(keys: Keys, s3: Any, bucket: str, key_name: str) -> None:
    data = os.urandom(123_457)
    url = f"s3://{bucket}/{key_name}"
    up = run("cp", "-", url, "--aes-key-file", keys.aes, stdin=data)
    assert up.returncode == 0, err(up)
    assert s3.head_object(Bucket=bucket, Key=key_name)["ContentLength"] == len(data) + 16

    down = run("cp", url, "-", "--aes-key-file", keys.aes)
    assert down.returncode == 0, err(down)
    assert down.stdout == data
    assert err(down) == ""


def test_stdin_needs_a_full_key(keys: Keys, bucket: str) -> None:
    result = run("cp", "-", f"s3://{bucket}/prefix/", "--aes-key-file", keys.aes, stdin=b"x")
    assert_clean_error(result, 2, "stdin")


def test_destination_prefix_and_directory_take_the_source_name(
    keys: Keys,
    s3: Any,
    bucket: str,
    key_name: str,
    plaintext_file: tuple[Path, bytes],
    tmp_path: Path,
) -> None:
    src, data = plaintext_file
    prefix = f"s3://{bucket}/{key_name}/"
    up = run("cp", src, prefix, "--aes-key-file", keys.aes)
    assert up.returncode == 0, err(up)
    assert up.stdout.decode().strip() == f"upload: {src} to {prefix}report.bin"
    assert "x-amz-3" in s3.head_object(Bucket=bucket, Key=f"{key_name}/report.bin")["Metadata"]

    for name in ("plain-dir", "slash-dir"):
        directory = tmp_path / name
        directory.mkdir()
        dst = f"{directory}{os.sep}" if name == "slash-dir" else str(directory)
        down = run("cp", f"{prefix}report.bin", dst, "--aes-key-file", keys.aes)
        assert down.returncode == 0, err(down)
        assert [p.name for p in directory.iterdir()] == ["report.bin"]
        assert (directory / "report.bin").read_bytes() == data


def test_download_creates_missing_directories_as_aws_s3_cp_does(
    keys: Keys, shared: Shared, tmp_path: Path
) -> None:
    target = tmp_path / "missing" / "dir" / "out.bin"
    result = run("cp", shared.v3, target, "--aes-key-file", keys.aes)
    assert result.returncode == 0, err(result)
    assert target.read_bytes() == shared.data


def test_download_under_a_file_is_a_clean_error(keys: Keys, shared: Shared, tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"x")
    result = run("cp", shared.v3, tmp_path / "file" / "out.bin", "--aes-key-file", keys.aes)
    assert_clean_error(result, 2, "cannot write")
    assert (tmp_path / "file").read_bytes() == b"x"


# ---------------------------------------------------------------------------- s3 -> s3


def test_s3_to_s3_copy_reencrypts(
    keys: Keys, shared: Shared, s3: Any, bucket: str, key_name: str
) -> None:
    source, data = shared.v3, shared.data
    copied = run("cp", source, f"s3://{bucket}/{key_name}/copies/", "--aes-key-file", keys.aes)
    target_key = f"{key_name}/copies/report.bin"
    assert copied.returncode == 0, err(copied)
    assert copied.stdout.decode().strip() == f"copy: {source} to s3://{bucket}/{target_key}"

    a = s3.get_object(Bucket=bucket, Key=s3_key(source))
    b = s3.get_object(Bucket=bucket, Key=target_key)
    stored_a, stored_b = a["Body"].read(), b["Body"].read()
    assert len(stored_a) == len(stored_b) == len(data) + 16
    assert stored_a != stored_b
    assert a["Metadata"]["x-amz-3"] != b["Metadata"]["x-amz-3"]  # a fresh data key

    down = run("cp", f"s3://{bucket}/{target_key}", "-", "--aes-key-file", keys.aes)
    assert down.returncode == 0, err(down)
    assert down.stdout == data


def test_s3_to_s3_copy_migrates_v2_to_v3(
    keys: Keys, shared: Shared, s3: Any, bucket: str, key_name: str
) -> None:
    old, new, data = shared.v2, f"s3://{bucket}/{key_name}/new", shared.data
    copied = run(
        "cp",
        old,
        new,
        "--aes-key-file",
        keys.aes,
        "--commitment-policy",
        "REQUIRE_ENCRYPT_ALLOW_DECRYPT",
    )
    assert copied.returncode == 0, err(copied)
    new_md = s3.head_object(Bucket=bucket, Key=f"{key_name}/new")["Metadata"]
    assert "x-amz-3" in new_md and "x-amz-key-v2" not in new_md
    down = run("cp", new, "-", "--aes-key-file", keys.aes)  # default policy: commitment
    assert down.returncode == 0, err(down)
    assert down.stdout == data


# ---------------------------------------------------------------------------- errors


def test_tampered_object_fails_authentication_and_leaves_nothing(
    keys: Keys,
    s3: Any,
    bucket: str,
    key_name: str,
    plaintext_file: tuple[Path, bytes],
    tmp_path: Path,
) -> None:
    src, _ = plaintext_file
    url = f"s3://{bucket}/{key_name}"
    assert run("cp", src, url, "--aes-key-file", keys.aes).returncode == 0
    obj = s3.get_object(Bucket=bucket, Key=key_name)
    stored = bytearray(obj["Body"].read())
    stored[1000] ^= 0x01
    s3.put_object(Bucket=bucket, Key=key_name, Body=bytes(stored), Metadata=obj["Metadata"])

    out_dir = tmp_path / "out"
    out_dir.mkdir()
    result = run("cp", url, out_dir / "tampered.bin", "--aes-key-file", keys.aes)
    assert_clean_error(result, 3, url)
    assert list(out_dir.iterdir()) == []  # no file, no leftover temp file

    streamed = run("cp", url, "-", "--aes-key-file", keys.aes)
    assert_clean_error(streamed, 3, url)
    assert streamed.stdout == b""  # no unauthenticated plaintext released


@pytest.mark.parametrize("command", ["cp", "inspect"])
def test_missing_object_exits_4(
    command: str, keys: Keys, bucket: str, key_name: str, tmp_path: Path
) -> None:
    url = f"s3://{bucket}/{key_name}/absent"
    if command == "cp":
        result = run("cp", url, tmp_path / "out.bin", "--aes-key-file", keys.aes)
        assert not (tmp_path / "out.bin").exists()
    else:
        result = run("inspect", url)
    assert_clean_error(result, 4, url, "no such object")


def test_missing_bucket_exits_4(keys: Keys, tmp_path: Path, stack: Any) -> None:
    result = run("cp", "s3://s3cse-no-such-bucket/k", tmp_path / "o", "--aes-key-file", keys.aes)
    assert_clean_error(result, 4, "no such", "bucket")


def test_no_key_option_exits_2(
    bucket: str, key_name: str, plaintext_file: tuple[Path, bytes], s3: Any
) -> None:
    src, _ = plaintext_file
    result = run("cp", src, f"s3://{bucket}/{key_name}")
    assert_clean_error(result, 2, "no key given")
    assert s3.list_objects_v2(Bucket=bucket, Prefix=key_name)["KeyCount"] == 0


def test_bad_encryption_context_exits_2(
    kms_key_id: str, bucket: str, key_name: str, plaintext_file: tuple[Path, bytes], s3: Any
) -> None:
    src, _ = plaintext_file
    result = run(
        "cp",
        src,
        f"s3://{bucket}/{key_name}",
        "--kms-key-id",
        kms_key_id,
        "--encryption-context",
        "dept",
    )
    assert_clean_error(result, 2, "KEY=VALUE", "'dept'")
    assert s3.list_objects_v2(Bucket=bucket, Prefix=key_name)["KeyCount"] == 0


def test_wrong_encryption_context_exits_1(
    kms_key_id: str,
    bucket: str,
    key_name: str,
    plaintext_file: tuple[Path, bytes],
    tmp_path: Path,
) -> None:
    src, data = plaintext_file
    url = f"s3://{bucket}/{key_name}"
    up = run("cp", src, url, "--kms-key-id", kms_key_id, "--encryption-context", "dept=finance")
    assert up.returncode == 0, err(up)
    out = tmp_path / "out.bin"
    for wrong in (["--encryption-context", "dept=sales"], []):
        result = run("cp", url, out, "--kms-key-id", kms_key_id, *wrong)
        assert_clean_error(result, 1, "does not match", url)
        assert not out.exists()
    right = run("cp", url, out, "--kms-key-id", kms_key_id, "--encryption-context", "dept=finance")
    assert right.returncode == 0, err(right)
    assert out.read_bytes() == data


def test_v2_object_with_default_options_is_refused_with_a_hint(
    keys: Keys, shared: Shared, tmp_path: Path
) -> None:
    url = shared.v2
    out = tmp_path / "out.bin"
    result = run("cp", url, out, "--aes-key-file", keys.aes)
    assert_clean_error(result, 1, "REQUIRE_ENCRYPT_ALLOW_DECRYPT", url)
    assert not out.exists()


def test_two_local_paths_exit_2(keys: Keys, tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"a")
    result = run("cp", tmp_path / "a", tmp_path / "b", "--aes-key-file", keys.aes)
    assert_clean_error(result, 2, "s3://")
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("source", ["missing", "directory"])
def test_unreadable_source_exits_2(
    source: str, keys: Keys, bucket: str, key_name: str, tmp_path: Path, s3: Any
) -> None:
    path = tmp_path / source
    if source == "directory":
        path.mkdir()
    result = run("cp", path, f"s3://{bucket}/{key_name}", "--aes-key-file", keys.aes)
    assert_clean_error(result, 2, f"cannot read {path}")
    assert s3.list_objects_v2(Bucket=bucket, Prefix=key_name)["KeyCount"] == 0


# ---------------------------------------------------------------------------- inspect


@pytest.mark.parametrize("kind", ["aes", "rsa", "kms"])
def test_inspect_describes_without_key_material(
    kind: str,
    keys: Keys,
    kms_key_id: str,
    shared: Shared,
    s3: Any,
    bucket: str,
    key_name: str,
    plaintext_file: tuple[Path, bytes],
) -> None:
    if kind == "aes":
        url, data = shared.v3, shared.data
    else:
        src, data = plaintext_file
        url = f"s3://{bucket}/{key_name}"
        up = run("cp", src, url, *key_args(kind, keys, kms_key_id))
        assert up.returncode == 0, err(up)

    result = run("inspect", url, "--show-bytes", "8")
    assert result.returncode == 0, err(result)
    out = result.stdout.decode()
    info = json.loads(out)
    assert info["object"] == url
    assert info["format"] == "V3"
    assert info["key_commitment"] is True
    assert info["instruction_file"] is False
    assert info["stored_size"] == len(data) + 16
    assert info["wrapping"] == V2_WRAP[kind]
    if kind == "kms":
        assert CONTEXT.items() <= info["encryption_context"].items()
    else:
        assert info["material_description"] == MATDESC[kind]

    first = s3.get_object(Bucket=bucket, Key=s3_key(url), Range="bytes=0-7")["Body"].read()
    assert info["stored_bytes_hex"] == first.hex()
    assert len(info["stored_bytes_hex"]) == 16
    assert data[:8].hex() not in out

    # The master key never appears, in any spelling.
    if kind == "aes":
        plain = run("inspect", url)
        assert plain.returncode == 0, err(plain)
        assert "stored_bytes_hex" not in json.loads(plain.stdout)
        text = keys.aes.read_bytes().strip()
        raw = base64.b64decode(text)
        for spelling in (text.decode(), raw.hex(), base64.b64encode(raw).decode()):
            assert spelling not in out
    elif kind == "rsa":
        assert "PRIVATE KEY" not in out
        pem_body = keys.rsa.read_text().splitlines()[1]
        assert pem_body not in out


# ---------------------------------------------------------------------------- local


def test_local_env_without_a_running_stack(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    result = run("local", "env", "--state-dir", state)
    assert result.returncode != 0
    assert "no local stack is running" in err(result)
    assert result.stdout == b""
