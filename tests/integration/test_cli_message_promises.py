"""What the ``s3cse`` command says when something is wrong, run for real in a subprocess
against the local stack: one ``s3cse: error:`` line naming the object, the options to
fix it (``--region``, ``--profile``, ``--rsa-key-file``, ``--recursive``, ...) and the
exit code; bulk runs that give up instead of failing every object alike.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from s3cse import AesKeyring, EncryptionClient
from s3cse.local import stack as local

from .test_cli import TIMEOUT, assert_clean_error, err, run

pytestmark = pytest.mark.integration

NO_SETTINGS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
)


def run_env(
    args: list[Any], drop: tuple[str, ...] = (), cwd: Path | None = None, **changes: str
) -> Any:
    """``run``, with variables dropped or set, and botocore kept from looking further
    (config files, instance metadata) for what was dropped."""
    env = {k: v for k, v in os.environ.items() if k not in drop and k != "S3CSE_DEBUG"}
    env.setdefault("AWS_CONFIG_FILE", "/nonexistent/s3cse-config")
    env.setdefault("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/s3cse-credentials")
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    env.update(changes)
    return subprocess.run(
        [sys.executable, "-m", "s3cse.cli", *map(str, args)],
        input=b"",
        capture_output=True,
        env=env,
        cwd=cwd,
        timeout=TIMEOUT,
        check=False,
    )


@dataclass(frozen=True)
class Files:
    aes: Path
    other_aes: Path
    rsa: Path
    rsa_pub: Path
    ec: Path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    d = tmp_path_factory.mktemp("message-keys")
    made = Files(d / "aes.key", d / "other.key", d / "rsa.pem", d / "rsa.pub", d / "ec.pem")
    for path in (made.aes, made.other_aes):
        assert run("keygen", "aes", path).returncode == 0
    result = run("keygen", "rsa", made.rsa, "--bits", "2048", "--public-out", made.rsa_pub)
    assert result.returncode == 0, err(result)
    made.ec.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return made


@pytest.fixture
def aes_object(files: Files, bucket: str, key_name: str) -> str:
    url = f"s3://{bucket}/{key_name}/report.txt"
    result = run("cp", "-", url, "--aes-key-file", files.aes, stdin=b"report")
    assert result.returncode == 0, err(result)
    return url


@pytest.fixture
def kms_object(kms_key_id: str, bucket: str, key_name: str) -> str:
    url = f"s3://{bucket}/{key_name}/kms.txt"
    result = run(
        "cp",
        "-",
        url,
        "--kms-key-id",
        kms_key_id,
        "--encryption-context",
        "dept=finance",
        "--encryption-context",
        "team=ops",
        stdin=b"kms data",
    )
    assert result.returncode == 0, err(result)
    return url


# ---------------------------------------------------------------- credentials, region


def test_no_credentials_says_how_to_provide_them(files: Files, aes_object: str) -> None:
    result = run_env(["cp", aes_object, "-", "--aes-key-file", files.aes], drop=NO_SETTINGS[:5])
    line = assert_clean_error(result, 1, aes_object, "no AWS credentials")
    for way in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_PROFILE",
        "--profile",
        "aws configure",
    ):
        assert way in line
    assert "endpoint" not in line


def test_no_region_names_the_object_and_region_works(kms_key_id: str, kms_object: str) -> None:
    args = [
        "cp",
        kms_object,
        "-",
        "--kms-key-id",
        kms_key_id,
        "--encryption-context",
        "dept=finance",
        "--encryption-context",
        "team=ops",
    ]
    missing = run_env(args, drop=NO_SETTINGS[5:])
    assert_clean_error(missing, 1, kms_object, "no AWS region", "--region", "AWS_REGION")
    given = run_env([*args, "--region", "us-east-1"], drop=NO_SETTINGS[5:])
    assert given.returncode == 0, err(given)
    assert given.stdout == b"kms data"


def test_profile_gives_credentials_and_region_to_every_command(
    tmp_path: Path,
    kms_key_id: str,
    kms_object: str,
    bucket: str,
    key_name: str,
) -> None:
    from s3cse.local.stack import ACCESS_KEY, SECRET_KEY

    (tmp_path / "config").write_text("[profile s3cse-msg]\nregion = us-east-1\n")
    (tmp_path / "credentials").write_text(
        f"[s3cse-msg]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
    )
    files = {
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
    }
    context = ["--encryption-context", "dept=finance", "--encryption-context", "team=ops"]
    key = ["--kms-key-id", kms_key_id]
    copy = f"s3://{bucket}/{key_name}/copy.txt"
    for args in (
        ["cp", kms_object, "-", *key, *context],
        ["cat", kms_object, *key, *context],
        ["cp", kms_object, copy, *key, *context],
        ["ls", f"s3://{bucket}/{key_name}/"],
        ["inspect", kms_object],
        ["rm", copy],
        [
            "rotate",
            f"s3://{bucket}/{key_name}/",
            *key,
            "--to-kms-key-id",
            kms_key_id,
            *context,
            "--dry-run",
        ],
    ):
        result = run_env([*args, "--profile", "s3cse-msg"], drop=NO_SETTINGS, **files)
        assert result.returncode == 0, (args, err(result))
    unknown = run_env(["ls", f"s3://{bucket}/", "--profile", "no-such-profile"], **files)
    assert_clean_error(unknown, 2, "no AWS profile named 'no-such-profile'")


# ---------------------------------------------------------------- KMS keys, policy


def test_another_kms_key_or_a_missing_alias_says_so(kms: Any, kms_object: str) -> None:
    other = kms.create_key(Description="another key")["KeyMetadata"]["KeyId"]
    context = ["--encryption-context", "dept=finance", "--encryption-context", "team=ops"]
    wrong = run("cp", kms_object, "-", "--kms-key-id", other, *context)
    line = assert_clean_error(
        wrong,
        1,
        kms_object,
        f"KMS key {other} cannot decrypt this object",
        "another KMS key",
        "--kms-key-id",
    )
    assert "Grant" not in line
    alias = f"alias/s3cse-none-{uuid.uuid4().hex[:8]}"
    missing = run("cp", kms_object, "-", "--kms-key-id", alias, *context)
    line = assert_clean_error(
        missing, 1, kms_object, f"the KMS alias {alias} does not exist", "--region"
    )
    assert "Enable" not in line


def test_context_mismatch_names_keys_and_debug_shows_values(
    kms_key_id: str, kms_object: str
) -> None:
    args = ["cp", kms_object, "-", "--kms-key-id", kms_key_id, "--encryption-context", "dept=hr"]
    plain = run(*args)
    line = assert_clean_error(
        plain,
        1,
        kms_object,
        "missing (stored with the object, not given): 'team'",
        "another value given for: 'dept'",
    )
    assert "finance" not in line and "'hr'" not in line and "ops" not in line
    debugged = run("--debug", *args)
    first = err(debugged).splitlines()[0]
    assert debugged.returncode == 1
    assert "'team'='ops'" in first and "'dept' (given 'hr', stored 'finance')" in first


def test_v2_object_under_the_default_policy_names_the_flag(
    files: Files, bucket: str, key_name: str
) -> None:
    url = f"s3://{bucket}/{key_name}/v2.txt"
    assert (
        run("cp", "-", url, "--aes-key-file", files.aes, "--format", "v2", stdin=b"v2").returncode
        == 0
    )
    for command in (["cp", url, "-"], ["cat", url]):
        result = run(*command, "--aes-key-file", files.aes)
        assert_clean_error(result, 1, url, "--commitment-policy REQUIRE_ENCRYPT_ALLOW_DECRYPT")
    relaxed = run(
        "cat",
        url,
        "--aes-key-file",
        files.aes,
        "--commitment-policy",
        "REQUIRE_ENCRYPT_ALLOW_DECRYPT",
    )
    assert relaxed.returncode == 0 and relaxed.stdout == b"v2"


# ---------------------------------------------------------------- key files


@pytest.mark.parametrize(
    ("option", "held", "fragments"),
    [
        ("--aes-key-file", "rsa", ["holds an RSA private key, not an AES key", "--rsa-key-file"]),
        (
            "--aes-key-file",
            "rsa_pub",
            ["holds an RSA public key, not an AES key", "--rsa-key-file"],
        ),
        ("--rsa-key-file", "aes", ["holds an AES key, not an RSA key", "--aes-key-file"]),
        (
            "--rsa-key-file",
            "rsa_pub",
            ["holds an RSA public key, but decrypting needs the private key"],
        ),
        ("--rsa-key-file", "ec", ["holds an EC private key, not an RSA key"]),
    ],
)
def test_a_key_file_of_the_wrong_kind_names_file_and_flag(
    files: Files,
    aes_object: str,
    option: str,
    held: str,
    fragments: list[str],
) -> None:
    path = getattr(files, held)
    result = run("cp", aes_object, "-", option, path)
    line = assert_clean_error(result, 2, f"{option} {path}", *fragments)
    assert "Keyring" not in line and "Traceback" not in err(result)


def test_lifecycle_key_files_are_named_by_their_flags(
    files: Files, bucket: str, key_name: str
) -> None:
    url = f"s3://{bucket}/{key_name}/"
    current = run("rotate", url, "--aes-key-file", files.rsa, "--to-aes-key-file", files.other_aes)
    assert_clean_error(current, 2, "--aes-key-file", "holds an RSA private key", "--rsa-key-file")
    target = run("rotate", url, "--aes-key-file", files.aes, "--to-rsa-key-file", files.aes)
    assert_clean_error(target, 2, "--to-rsa-key-file", "holds an AES key", "--to-aes-key-file")


def test_an_object_of_another_kind_of_key_names_the_flag(files: Files, aes_object: str) -> None:
    result = run("cp", aes_object, "-", "--rsa-key-file", files.rsa)
    line = assert_clean_error(result, 1, aes_object, "wrapped under an AES key", "--aes-key-file")
    assert "RsaKeyring" not in line


# ---------------------------------------------------------------- prefixes, markers


def test_copying_a_prefix_without_recursive_suggests_it(
    files: Files,
    aes_object: str,
    s3: Any,
    bucket: str,
    key_name: str,
    tmp_path: Path,
) -> None:
    s3.put_object(Bucket=bucket, Key=f"{key_name}/folder/", Body=b"")
    for source in (
        f"s3://{bucket}/{key_name}",
        f"s3://{bucket}/{key_name}/",
        f"s3://{bucket}/{key_name}/folder/",
    ):
        result = run("cp", source, tmp_path / "out", "--aes-key-file", files.aes)
        line = assert_clean_error(result, 2, source, "prefix", "--recursive")
        assert "no encryption metadata" not in line
    removed = run("rm", f"s3://{bucket}/{key_name}")
    assert_clean_error(removed, 2, "is a prefix", "--recursive")
    assert not (tmp_path / "out").exists()
    missing = run(
        "cp", f"s3://{bucket}/{key_name}/absent", tmp_path / "out", "--aes-key-file", files.aes
    )
    assert_clean_error(missing, 4, "no such object")


def test_inspect_reports_plaintext_and_the_integrity_index(
    files: Files,
    s3: Any,
    bucket: str,
    key_name: str,
) -> None:
    s3.put_object(Bucket=bucket, Key=f"{key_name}/plain.txt", Body=b"plain")
    plain = run("inspect", f"s3://{bucket}/{key_name}/plain.txt")
    assert plain.returncode == 0, err(plain)
    info = json.loads(plain.stdout)
    assert info["format"] == "plain" and info["encrypted"] is False
    assert info["integrity_index"] is False and info["stored_size"] == 5
    s3.put_object(Bucket=bucket, Key=f"{key_name}/folder/", Body=b"")
    marker = json.loads(run("inspect", f"s3://{bucket}/{key_name}/folder/").stdout)
    assert marker["folder_marker"] is True and marker["encrypted"] is False
    for flags, indexed in (([], False), (["--integrity-index"], True)):
        url = f"s3://{bucket}/{key_name}/indexed-{indexed}.txt"
        assert (
            run("cp", "-", url, "--aes-key-file", files.aes, *flags, stdin=b"data").returncode == 0
        )
        result = run("inspect", url)
        assert result.returncode == 0, err(result)
        info = json.loads(result.stdout)
        assert info["encrypted"] is True and info["integrity_index"] is indexed


# ---------------------------------------------------------------- bulk runs


def test_rotate_and_migrate_failures_use_the_error_form(
    files: Files,
    s3: Any,
    bucket: str,
    key_name: str,
) -> None:
    mine = EncryptionClient(AesKeyring(_key(files.aes)), s3_client=s3)
    theirs = EncryptionClient(AesKeyring(_key(files.other_aes)), s3_client=s3)
    mine.put_object(Bucket=bucket, Key=f"{key_name}/mine", Body=b"m")
    theirs.put_object(Bucket=bucket, Key=f"{key_name}/theirs", Body=b"t")
    s3.put_object(Bucket=bucket, Key=f"{key_name}/folder/", Body=b"")
    url = f"s3://{bucket}/{key_name}"
    for command in (
        ["rotate", url, "--aes-key-file", files.aes, "--to-rsa-key-file", files.rsa, "--dry-run"],
        ["migrate", url, "--aes-key-file", files.aes],
    ):
        result = run(*command)
        assert result.returncode == 1, err(result)
        lines = err(result).strip().splitlines()
        failed = [line for line in lines if line.startswith("s3cse: error:")]
        assert len(failed) == 2, lines
        assert f"[{url}/theirs]" in failed[0] and "no AES key" in failed[0]
        assert failed[1] == "s3cse: error: 1 of 2 objects failed"
        assert not any(line.startswith("failed:") for line in lines)
        assert "folder/" not in err(result)


def _key(path: Path) -> bytes:
    from s3cse.keyrings import load_aes_key_file

    return load_aes_key_file(path)


def test_recursive_copy_gives_up_when_kms_is_unreachable(
    kms_key_id: str,
    bucket: str,
    key_name: str,
    tmp_path: Path,
) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    for n in range(20):
        (tree / f"f{n:02d}.txt").write_bytes(b"x")
    (closed,) = local.free_ports(1)
    result = run_env(
        [
            "cp",
            "--recursive",
            tree,
            f"s3://{bucket}/{key_name}",
            "--kms-key-id",
            kms_key_id,
            "--concurrency",
            "2",
        ],
        AWS_ENDPOINT_URL_KMS=f"http://127.0.0.1:{closed}",
        AWS_MAX_ATTEMPTS="1",
    )
    assert result.returncode == 1, err(result)
    lines = err(result).strip().splitlines()
    per_object = [line for line in lines if "cannot reach KMS" in line and "gave up" not in line]
    assert len(per_object) == 3, lines
    gave_up = [line for line in lines if "gave up" in line]
    assert len(gave_up) == 1 and gave_up[0].startswith("s3cse: error: gave up after 3 ")
    assert "--kms-endpoint-url" in gave_up[0] and "were not attempted" in gave_up[0]
    assert lines[-1].startswith("s3cse: error:") and lines[-1].endswith("of 20 objects failed")
    assert int(gave_up[0].split("; ")[-1].split(" of ")[0]) > 0


def test_cat_help_lists_only_what_cat_uses() -> None:
    result = run("cat", "--help")
    assert result.returncode == 0
    text = result.stdout.decode()
    for unused in (
        "--format",
        "--instruction-file",
        "--integrity-index",
        "--sse ",
        "--cache-data-keys",
    ):
        assert unused not in text, unused
    for used in (
        "--kms-key-id",
        "--aes-key-file",
        "--rsa-key-file",
        "--encryption-context",
        "--matdesc",
        "--legacy",
        "--commitment-policy",
        "--endpoint-url",
        "--kms-endpoint-url",
        "--region",
        "--profile",
        "--sse-c-key-file",
    ):
        assert used in text, used
