"""Download destinations that fill up or refuse writes.

A full disk (``/dev/full``, or a file-size limit in a subprocess) and a directory the
process may not write to must end in a ``DestinationError`` (an ``OSError`` too, with
its errno) and leave the destination as it was: no partial file, no temp file, and an
earlier file of the same name untouched.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from s3cse import AesKeyring, EncryptionClient
from s3cse.errors import DestinationError
from s3cse.transfer import TransferConfig

from ..conftest import MakeClient
from ..integration.test_cli import assert_clean_error, run
from .conftest import leftovers

pytestmark = pytest.mark.integration

MiB = 1024 * 1024
SECRET = bytes(range(32))
PARTS = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
DEV_FULL = Path("/dev/full")
needs_dev_full = pytest.mark.skipif(not DEV_FULL.exists(), reason="needs /dev/full")


@pytest.fixture
def stored(s3: Any, bucket: str, key_name: str) -> tuple[str, bytes]:
    data = os.urandom(6 * MiB)
    EncryptionClient(AesKeyring(SECRET), s3_client=s3).put_object(
        Bucket=bucket, Key=key_name, Body=data
    )
    return key_name, data


@needs_dev_full
@pytest.mark.parametrize("threshold", [5 * MiB, 64 * MiB], ids=["parallel", "streamed"])
def test_download_fileobj_to_a_full_disk(
    make_client: MakeClient, stored: tuple[str, bytes], bucket: str, threshold: int
) -> None:
    key, _ = stored
    client = make_client(AesKeyring(SECRET))
    config = TransferConfig(multipart_threshold=threshold, multipart_chunksize=5 * MiB)
    with open(DEV_FULL, "wb") as sink, pytest.raises(DestinationError) as raised:
        client.download_fileobj(bucket, key, sink, Config=config)
    assert isinstance(raised.value, OSError)
    assert raised.value.errno == errno.ENOSPC
    assert "/dev/full" in str(raised.value) and key in str(raised.value)


@needs_dev_full
def test_download_file_onto_a_device_writes_in_place(
    make_client: MakeClient, stored: tuple[str, bytes], bucket: str
) -> None:
    """A device is written, never replaced by a renamed temp file."""
    key, _ = stored
    client = make_client(AesKeyring(SECRET))
    client.download_file(bucket, key, os.devnull, Config=PARTS)
    with pytest.raises(DestinationError) as raised:
        client.download_file(bucket, key, str(DEV_FULL), Config=PARTS)
    assert raised.value.errno == errno.ENOSPC
    for device in (os.devnull, DEV_FULL):
        assert stat.S_ISCHR(os.stat(device).st_mode)


@needs_dev_full
def test_cli_download_to_a_full_disk(
    stored: tuple[str, bytes], bucket: str, tmp_path: Path
) -> None:
    key, _ = stored
    key_file = tmp_path / "aes.key"
    key_file.write_bytes(SECRET)
    result = run("cp", f"s3://{bucket}/{key}", DEV_FULL, "--aes-key-file", key_file)
    assert_clean_error(result, 2, "No space left on device", "/dev/full")
    assert stat.S_ISCHR(os.stat(DEV_FULL).st_mode)


def download_in_child(bucket: str, key: str, target: Path, setup: str) -> dict[str, Any]:
    """Run ``download_file`` in a child process after ``setup`` (resource limits, a
    lower uid); return what it raised."""
    script = textwrap.dedent(f"""
        import json, os, resource, signal, sys
        from s3cse import AesKeyring, EncryptionClient
        from s3cse.transfer import TransferConfig

        client = EncryptionClient(AesKeyring({SECRET!r}))
        config = TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20)
        # a first download as we are, so every module and data file is already loaded
        client.download_fileobj({bucket!r}, {key!r}, open(os.devnull, "wb"), Config=config)
        {setup}
        try:
            client.download_file({bucket!r}, {key!r}, {str(target)!r}, Config=config)
        except Exception as exc:
            print(json.dumps({{"type": type(exc).__name__, "errno": getattr(exc, "errno", None),
                               "oserror": isinstance(exc, OSError), "message": str(exc)}}))
            sys.exit(0)
        print(json.dumps({{"type": None}}))
    """)
    import json

    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr.decode()
    outcome: dict[str, Any] = json.loads(result.stdout.decode().strip().splitlines()[-1])
    return outcome


def test_download_beyond_the_file_size_limit(
    stored: tuple[str, bytes], bucket: str, tmp_path: Path
) -> None:
    """RLIMIT_FSIZE stands in for a disk that fills up halfway through."""
    key, _ = stored
    target = tmp_path / "report.bin"
    target.write_bytes(b"the previous report")
    outcome = download_in_child(
        bucket,
        key,
        target,
        textwrap.dedent("""
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
    """).replace("\n", "\n        "),
    )
    assert outcome["type"] == "DestinationError", outcome
    assert outcome["oserror"] and outcome["errno"] == errno.EFBIG
    assert str(target) in outcome["message"]
    assert target.read_bytes() == b"the previous report"
    assert leftovers(tmp_path) == []


def test_download_into_a_directory_it_may_not_write(
    stored: tuple[str, bytes], bucket: str, tmp_path: Path
) -> None:
    key, _ = stored
    locked = tmp_path / "locked"
    locked.mkdir()
    if os.geteuid() == 0:
        # root writes anywhere: the child drops to nobody before the download
        tmp_path.chmod(0o755)
        setup = "os.setgid(65534); os.setuid(65534)"
    else:
        locked.chmod(0o555)
        setup = "pass"
    try:
        outcome = download_in_child(bucket, key, locked / "out.bin", setup)
    finally:
        locked.chmod(0o755)
    assert outcome["type"] == "DestinationError", outcome
    assert outcome["oserror"] and outcome["errno"] == errno.EACCES
    assert "locked/out.bin" in outcome["message"]
    assert list(locked.iterdir()) == []


def test_destination_error_from_a_file_object_names_it(
    make_client: MakeClient, stored: tuple[str, bytes], bucket: str
) -> None:
    class Refusing(io.RawIOBase):
        name = "refusing-sink"

        def writable(self) -> bool:
            return True

        def write(self, data: Any) -> int:
            raise OSError(errno.EROFS, "Read-only file system")

    key, _ = stored
    with pytest.raises(DestinationError, match="refusing-sink: Read-only file system"):
        make_client(AesKeyring(SECRET)).download_fileobj(bucket, key, Refusing())
