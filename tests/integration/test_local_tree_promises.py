"""``cp --recursive`` over local trees that hold more than regular files, as
``aws s3 cp --recursive`` treats them: symbolic links are followed (to files and
directories) unless ``--no-follow-symlinks``; FIFOs, sockets, dangling links and links
that loop back are skipped with one warning line each on stderr, the rest is uploaded,
and the exit code is 2. A FIFO is never opened: reading one blocks until some writer
comes, which used to hang the whole command.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from s3cse import AesKeyring, EncryptionClient

from ..keys import aes_key_file

pytestmark = pytest.mark.integration

SECRET = bytes(range(100, 132))
TIMEOUT = 30  # seconds: a command stuck on a FIFO fails instead of hanging the suite


@dataclass(frozen=True)
class Upload:
    code: int
    stdout: str
    stderr: str
    prefix: str

    def stored(self, s3: Any, bucket: str) -> dict[str, bytes]:
        """What the upload stored under its prefix, decrypted, by relative name."""
        client = EncryptionClient(AesKeyring(SECRET), s3_client=s3)
        listing = s3.list_objects_v2(Bucket=bucket, Prefix=f"{self.prefix}/")
        return {
            entry["Key"][len(self.prefix) + 1 :]: client.get_object(
                Bucket=bucket, Key=entry["Key"]
            )["Body"].read()
            for entry in listing.get("Contents", [])
        }

    def warnings(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if "warning:" in line]


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return aes_key_file(tmp_path_factory, SECRET)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A directory with two regular files, one of them in a subdirectory."""
    root = tmp_path / "tree"
    (root / "real").mkdir(parents=True)
    (root / "a.txt").write_bytes(b"alpha\n")
    (root / "real" / "b.txt").write_bytes(b"beta\n")
    return root


def upload_tree(root: Path, bucket: str, key_file: Path, *options: str) -> Upload:
    prefix = f"local-tree-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if k != "S3CSE_DEBUG"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "s3cse.cli",
            "cp",
            "--recursive",
            str(root),
            f"s3://{bucket}/{prefix}/",
            "--aes-key-file",
            str(key_file),
            *options,
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=env,
        timeout=TIMEOUT,
        check=False,
    )
    return Upload(result.returncode, result.stdout.decode(), result.stderr.decode(), prefix)


@pytest.fixture
def unix_socket(tree: Path) -> Iterator[Path]:
    path = tree / "control.sock"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        yield path


def test_fifo_and_socket_are_skipped_with_a_warning(
    tree: Path, unix_socket: Path, s3: Any, bucket: str, key_file: Path
) -> None:
    os.mkfifo(tree / "real" / "queue")
    upload = upload_tree(tree, bucket, key_file)
    assert upload.code == 2, upload.stderr
    assert "Traceback" not in upload.stderr
    assert upload.warnings() == [
        f"s3cse: warning: skipping {unix_socket}: a socket, not a regular file",
        f"s3cse: warning: skipping {tree / 'real' / 'queue'}: a FIFO (named pipe), "
        "not a regular file",
    ]
    assert upload.stored(s3, bucket) == {"a.txt": b"alpha\n", "real/b.txt": b"beta\n"}


def test_symbolic_links_are_followed_by_default(
    tree: Path, s3: Any, bucket: str, key_file: Path
) -> None:
    (tree / "linked").symlink_to("real")
    (tree / "a-link.txt").symlink_to("a.txt")
    for options in [(), ("--follow-symlinks",)]:
        upload = upload_tree(tree, bucket, key_file, *options)
        assert upload.code == 0, upload.stderr
        assert upload.stderr == ""
        assert upload.stored(s3, bucket) == {
            "a.txt": b"alpha\n",
            "a-link.txt": b"alpha\n",
            "linked/b.txt": b"beta\n",
            "real/b.txt": b"beta\n",
        }


def test_no_follow_symlinks_skips_them_and_says_so(
    tree: Path, s3: Any, bucket: str, key_file: Path
) -> None:
    (tree / "linked").symlink_to("real")
    (tree / "a-link.txt").symlink_to("a.txt")
    upload = upload_tree(tree, bucket, key_file, "--no-follow-symlinks")
    assert upload.code == 0, upload.stderr
    assert upload.stderr.splitlines() == [
        f"s3cse: skipping {tree / 'a-link.txt'}: a symbolic link (--no-follow-symlinks)",
        f"s3cse: skipping {tree / 'linked'}: a symbolic link (--no-follow-symlinks)",
    ]
    assert upload.stored(s3, bucket) == {"a.txt": b"alpha\n", "real/b.txt": b"beta\n"}
    quiet = upload_tree(tree, bucket, key_file, "--no-follow-symlinks", "--quiet")
    assert (quiet.code, quiet.stdout, quiet.stderr) == (0, "", "")


def test_a_symlink_loop_is_skipped_with_a_warning(
    tree: Path, s3: Any, bucket: str, key_file: Path
) -> None:
    (tree / "real" / "back-to-top").symlink_to("..")
    (tree / "real" / "itself").symlink_to(".")
    upload = upload_tree(tree, bucket, key_file)
    assert upload.code == 2, upload.stderr
    assert upload.warnings() == [
        f"s3cse: warning: skipping {tree / 'real' / 'back-to-top'}: a symbolic link loop: "
        f"it leads back to {tree}",
        f"s3cse: warning: skipping {tree / 'real' / 'itself'}: a symbolic link loop: "
        f"it leads back to {tree / 'real'}",
    ]
    assert upload.stored(s3, bucket) == {"a.txt": b"alpha\n", "real/b.txt": b"beta\n"}


def test_a_dangling_symlink_is_skipped_with_a_warning(
    tree: Path, s3: Any, bucket: str, key_file: Path
) -> None:
    (tree / "gone.txt").symlink_to("nowhere.txt")
    upload = upload_tree(tree, bucket, key_file)
    assert upload.code == 2, upload.stderr
    assert upload.stderr.splitlines() == [
        f"s3cse: warning: skipping {tree / 'gone.txt'}: a dangling symbolic link "
        "(its target does not exist)"
    ]
    assert upload.stored(s3, bucket) == {"a.txt": b"alpha\n", "real/b.txt": b"beta\n"}
