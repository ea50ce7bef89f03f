"""``s3cse local``: the stack is found from any directory, ``start --bucket`` on a running
stack creates the bucket, a new stack has its buckets when ``start`` returns, and
``create-kms-key --alias`` makes code written for an alias (``KmsKeyring("alias/my-key")``)
run as it is. Run in subprocesses against the test session's stack, found through copies
of its state file, which nothing here stops (one test starts and stops a stack of its own).
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest

from s3cse import EncryptionClient, KmsKeyring
from s3cse.local import stack as local

from .test_cli import assert_clean_error, err
from .test_cli_message_promises import run_env

pytestmark = pytest.mark.integration

STATE_VARIABLES = ("S3CSE_LOCAL_STATE_DIR", "XDG_STATE_HOME")


def record_stack(stack: local.LocalStack, directory: Path) -> Path:
    """A copy of the running stack's state file in ``directory``: ``local env`` and
    ``local start`` find the stack there (``local stop`` would stop it: never called)."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(Path(stack.state_dir) / "state.json", directory / "state.json")
    return directory


def test_env_finds_the_stack_from_any_directory(stack: local.LocalStack, tmp_path: Path) -> None:
    state_home = tmp_path / "state-home"
    record_stack(stack, state_home / "s3cse" / "local")
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    result = run_env(
        ["local", "env"], drop=STATE_VARIABLES, cwd=elsewhere, XDG_STATE_HOME=str(state_home)
    )
    assert result.returncode == 0, err(result)
    assert f"export AWS_ENDPOINT_URL_S3={stack.s3_endpoint}" in result.stdout.decode()
    home = tmp_path / "home"
    record_stack(stack, home / ".local" / "state" / "s3cse" / "local")
    by_home = run_env(["local", "env"], drop=STATE_VARIABLES, cwd=elsewhere, HOME=str(home))
    assert by_home.returncode == 0, err(by_home)
    assert stack.kms_endpoint in by_home.stdout.decode()


def test_state_dir_variable_and_an_older_stack_in_the_working_directory(
    stack: local.LocalStack,
    tmp_path: Path,
) -> None:
    chosen = record_stack(stack, tmp_path / "chosen")
    by_variable = run_env(
        ["local", "env"],
        drop=STATE_VARIABLES,
        cwd=tmp_path,
        S3CSE_LOCAL_STATE_DIR=str(chosen),
        XDG_STATE_HOME=str(tmp_path / "x"),
    )
    assert by_variable.returncode == 0, err(by_variable)
    assert stack.s3_endpoint in by_variable.stdout.decode()
    older = tmp_path / "project"
    record_stack(stack, older / local.LEGACY_STATE_DIR)
    by_legacy = run_env(
        ["local", "env"], drop=STATE_VARIABLES, cwd=older, XDG_STATE_HOME=str(tmp_path / "empty")
    )
    assert by_legacy.returncode == 0, err(by_legacy)
    assert stack.s3_endpoint in by_legacy.stdout.decode()
    nothing = run_env(
        ["local", "env"], drop=STATE_VARIABLES, cwd=tmp_path, XDG_STATE_HOME=str(tmp_path / "empty")
    )
    assert_clean_error(
        nothing, 1, "no local stack is running", str(tmp_path / "empty" / "s3cse" / "local")
    )


def test_start_on_a_running_stack_creates_the_bucket(
    stack: local.LocalStack, s3: Any, tmp_path: Path
) -> None:
    state = record_stack(stack, tmp_path / "state")
    name = f"s3cse-new-{uuid.uuid4().hex[:8]}"
    result = run_env(
        ["local", "start", "--state-dir", state, "--bucket", name, "--bucket", "s3cse-test"]
    )
    assert result.returncode == 0, err(result)
    assert f"export AWS_ENDPOINT_URL_S3={stack.s3_endpoint}" in result.stdout.decode()
    s3.head_bucket(Bucket=name)
    assert local.status(stack.state_dir) is not None  # the same stack, still running


def test_create_kms_key_with_an_alias(
    stack: local.LocalStack, s3: Any, kms: Any, bucket: str, key_name: str, tmp_path: Path
) -> None:
    state = record_stack(stack, tmp_path / "state")
    alias = f"alias/my-key-{uuid.uuid4().hex[:8]}"
    result = run_env(["local", "create-kms-key", "--state-dir", state, "--alias", alias])
    assert result.returncode == 0, err(result)
    key_id = result.stdout.decode().strip()
    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == key_id
    client = EncryptionClient(KmsKeyring(alias, kms_client=kms), s3_client=s3)
    client.put_object(Bucket=bucket, Key=key_name, Body=b"under an alias")
    assert client.get_object(Bucket=bucket, Key=key_name)["Body"].read() == b"under an alias"
    again = run_env(["local", "create-kms-key", "--state-dir", state, "--alias", alias])
    assert_clean_error(again, 2, f"{alias} already names KMS key {key_id}")


def test_a_new_stack_has_its_buckets_when_start_returns(tmp_path: Path) -> None:
    """SeaweedFS makes the buckets it is started with in the background; the first
    request after ``start`` must not meet NoSuchBucket."""
    import boto3

    fresh = local.start(tmp_path / "fresh", buckets=("first", "second"), die_with_parent=True)
    try:
        client = boto3.client(
            "s3",
            endpoint_url=fresh.s3_endpoint,
            aws_access_key_id=local.ACCESS_KEY,
            aws_secret_access_key=local.SECRET_KEY,
            region_name=local.REGION,
        )
        for name in ("first", "second"):
            assert client.list_objects_v2(Bucket=name)["KeyCount"] == 0
    finally:
        local.stop(tmp_path / "fresh")
