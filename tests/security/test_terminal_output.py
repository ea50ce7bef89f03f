"""Keys reach the user's terminal: a bucket writer must not be able to drive it.

A key holding an OSC or CSI escape sequence, another control character or a bidi
override is printed by ``ls``, ``cp``, ``rm``, ``rotate`` and in error messages. Every
command must show such characters as visible escapes (``\\x1b``), while ``--json``
output keeps the exact key (JSON escapes control characters itself).

Objects are stored in moto's S3, which keeps such keys as AWS does.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from s3cse import AesKeyring, EncryptionClient
from s3cse.local import stack as local

from ..integration.test_cli import run

SECRET = bytes(range(32))
# What a terminal acts on or hides: C0 but the line break, DEL, C1, bidi controls.
RAW_CONTROL = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]"
)
NAMES = {
    "osc\x1b]0;owned\x07.txt": "osc\\x1b]0;owned\\x07.txt",
    "csi\x1b[2J\x1b[1;1H.txt": "csi\\x1b[2J\\x1b[1;1H.txt",
    "c1\x9b31m.txt": "c1\\x9b31m.txt",
    "bidi\u202etxt.exe": "bidi\\u202etxt.exe",
    "dir\x1b[5m/inner.txt": "dir\\x1b[5m/inner.txt",
}


@pytest.fixture(scope="module")
def hostile(
    moto_s3: Any,
    moto_bucket: str,
    stack: local.LocalStack,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Any]:
    """Objects under one prefix whose keys carry terminal controls, and key files."""
    prefix = f"terminal-{uuid.uuid4().hex[:8]}"
    writer = EncryptionClient(AesKeyring(SECRET), s3_client=moto_s3)
    for name in NAMES:
        writer.put_object(Bucket=moto_bucket, Key=f"{prefix}/{name}", Body=b"data")
    keys = tmp_path_factory.mktemp("terminal-keys")
    (keys / "aes.key").write_bytes(SECRET)
    (keys / "new.key").write_bytes(bytes(range(1, 33)))
    return {
        "url": f"s3://{moto_bucket}/{prefix}",
        "prefix": prefix,
        "bucket": moto_bucket,
        "endpoint": ["--endpoint-url", stack.moto_s3_endpoint],
        "keys": keys,
    }


def shown(result: Any) -> str:
    text: str = result.stdout.decode() + result.stderr.decode()
    return text


def assert_escaped(text: str, names: list[str]) -> None:
    assert not RAW_CONTROL.findall(text), text
    for name in names:
        assert NAMES[name].split("/")[-1] in text, text


def test_ls_shows_keys_escaped_and_json_keeps_them_exact(hostile: dict[str, Any]) -> None:
    flat = run("ls", f"{hostile['url']}/", *hostile["endpoint"])
    assert flat.returncode == 0, shown(flat)
    assert "PRE dir\\x1b[5m/" in shown(flat)
    deep = run("ls", "--recursive", hostile["url"], *hostile["endpoint"])
    assert deep.returncode == 0, shown(deep)
    assert_escaped(shown(flat) + shown(deep), list(NAMES))
    as_json = run("ls", "--recursive", "--json", hostile["url"], *hostile["endpoint"])
    assert as_json.returncode == 0, shown(as_json)
    keys = {json.loads(line)["key"] for line in as_json.stdout.decode().splitlines()}
    assert keys == {f"{hostile['prefix']}/{name}" for name in NAMES}


def test_cp_recursive_lines_are_escaped(hostile: dict[str, Any], tmp_path: Path) -> None:
    result = run(
        "cp",
        "-r",
        hostile["url"],
        tmp_path / "out",
        "--aes-key-file",
        hostile["keys"] / "aes.key",
        *hostile["endpoint"],
    )
    assert result.returncode == 0, shown(result)
    assert_escaped(shown(result), list(NAMES))
    assert (tmp_path / "out" / "bidi\u202etxt.exe").read_bytes() == b"data"  # files: exact


def test_rm_lines_are_escaped(hostile: dict[str, Any]) -> None:
    result = run("rm", "--recursive", "--dry-run", hostile["url"], *hostile["endpoint"])
    assert result.returncode == 0, shown(result)
    assert_escaped(shown(result), list(NAMES))


def test_rotate_lines_are_escaped(hostile: dict[str, Any]) -> None:
    result = run(
        "rotate",
        hostile["url"],
        "--aes-key-file",
        hostile["keys"] / "aes.key",
        "--to-aes-key-file",
        hostile["keys"] / "new.key",
        "--dry-run",
        *hostile["endpoint"],
    )
    assert result.returncode == 0, shown(result)
    assert_escaped(shown(result), list(NAMES))


def test_error_messages_naming_a_key_are_escaped(hostile: dict[str, Any], tmp_path: Path) -> None:
    missing = run("inspect", f"{hostile['url']}/gone\x1b]0;owned\x07", *hostile["endpoint"])
    assert missing.returncode == 4, shown(missing)
    assert "gone\\x1b]0;owned\\x07" in shown(missing)
    wrong_key = run(
        "cp",
        "-r",
        hostile["url"],
        tmp_path / "out",
        "--aes-key-file",
        hostile["keys"] / "new.key",
        *hostile["endpoint"],
    )
    assert wrong_key.returncode != 0
    assert shown(wrong_key).count("s3cse: error:") == len(NAMES) + 1
    assert_escaped(shown(missing) + shown(wrong_key), list(NAMES))


def test_a_line_break_in_a_key_cannot_start_a_line_of_its_own(
    moto_bucket: str, stack: local.LocalStack
) -> None:
    key = f"forge-{uuid.uuid4().hex[:8]}\ns3cse: all objects verified"
    result = run("inspect", f"s3://{moto_bucket}/{key}", "--endpoint-url", stack.moto_s3_endpoint)
    assert result.returncode == 4
    lines = result.stderr.decode().splitlines()
    assert lines[0].startswith("s3cse: error:")
    assert not any(line.startswith("s3cse: all") for line in lines), lines
