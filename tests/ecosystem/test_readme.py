"""The README's data-stack snippets run as written, against the local stack."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from ..keys import aes_key

pytestmark = pytest.mark.integration
README = Path(__file__).resolve().parents[2] / "README.md"


def snippets() -> list[str]:
    text = README.read_text()
    section = text.split("## Use it from pandas / PyArrow / Polars / DuckDB / Dask", 1)[1]
    section = section.split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.DOTALL)


def test_snippets_run(stack: Any, s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                      capsys: pytest.CaptureFixture[str]) -> None:
    blocks = snippets()
    assert len(blocks) == 5
    if "my-bucket" not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket="my-bucket")
    (tmp_path / "aes.key").write_bytes(aes_key(0))
    monkeypatch.chdir(tmp_path)
    assert os.environ["AWS_ENDPOINT_URL_S3"] == stack.s3_endpoint
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {"__name__": "__readme__"})
    printed = capsys.readouterr().out
    assert "('Lyon', 12.5)" in printed  # DuckDB's answer
    assert "22.75" in printed          # Dask's (and Polars') sum
