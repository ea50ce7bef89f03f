"""The clients' options are named and typed keywords and the answers they shape are typed:
a misspelt option fails at once (and in a type checker), a misused field in mypy."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from mypy import api as mypy_api

import s3cse
from s3cse import AesKeyring, CryptoConfig, EncryptionClient
from s3cse.aio import AsyncEncryptionClient

SRC = Path(s3cse.__file__).resolve().parents[1]  # the s3cse under test


@pytest.mark.parametrize("client_class", [EncryptionClient, AsyncEncryptionClient])
def test_unknown_option_is_a_type_error_naming_the_valid_ones(client_class: type) -> None:
    with pytest.raises(TypeError) as info:
        client_class(AesKeyring(b"k" * 32), s3_client=object(), integrity_idx=True)
    assert "integrity_idx" in str(info.value)
    assert "integrity_index" in str(info.value) and "unauthenticated_ranges" in str(info.value)


def test_options_override_the_config() -> None:
    client = EncryptionClient(
        AesKeyring(b"k" * 32),
        s3_client=object(),
        config=CryptoConfig(legacy=True),
        integrity_index=True,
    )
    assert client.config.legacy and client.config.integrity_index


USE = """
from s3cse import AesKeyring, EncryptionClient
from s3cse.aio import AsyncEncryptionClient

ring = AesKeyring(b"k" * 32)
client = EncryptionClient(ring, legacy=True, unauthenticated_ranges=True)
EncryptionClient(ring, legasy=True)  # E1
AsyncEncryptionClient(ring, integrity_index="yes")  # E2
head = client.head_object(Bucket="b", Key="k")
stored: int = head["CiphertextLength"]
size: str = head["ContentLength"]  # E3
user: dict[str, str] = client.get_object(Bucket="b", Key="k")["Metadata"]
etag: int = client.put_object(Bucket="b", Key="k", Body=b"x")["ETag"]  # E4
listed: str = client.list_objects_v2(Bucket="b")["Contents"][0]["StoredSize"]  # E5


async def read(aclient: AsyncEncryptionClient) -> bytes:
    response = await aclient.get_object(Bucket="b", Key="k")
    wrong: int = response["EncryptionMetadata"]  # E6
    return await response["Body"].read()
"""


def test_type_checkers_see_the_options_and_the_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MYPYPATH", str(SRC))
    source = tmp_path / "use.py"
    source.write_text(textwrap.dedent(USE))
    report, _, _ = mypy_api.run(
        [
            "--strict",
            "--no-incremental",
            "--ignore-missing-imports",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--python-version",
            "3.10",
            str(source),
        ]
    )
    flagged = {
        int(line.split(":")[1])
        for line in report.splitlines()
        if line.startswith(str(source)) and ": error:" in line
    }
    expected = {
        number for number, line in enumerate(source.read_text().splitlines(), 1) if "# E" in line
    }
    assert flagged == expected, report
