"""Each atheris harness in fuzz/ runs briefly (`make fuzz` runs them for minutes): a crash,
that is an exception other than S3CSEError or a broken oracle, fails the test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("atheris")

ROOT = Path(__file__).resolve().parents[2]
HARNESSES = sorted((ROOT / "fuzz").glob("fuzz_*.py"))
RUNS = 3000


def test_every_harness_is_collected() -> None:
    assert {h.stem for h in HARNESSES} >= {"fuzz_metadata", "fuzz_instruction_file", "fuzz_decrypt"}


@pytest.mark.parametrize("harness", HARNESSES, ids=lambda path: path.stem)
def test_harness_short_run(harness: Path, tmp_path: Path) -> None:
    env = {**os.environ, "S3CSE_FUZZ_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, str(harness), f"-runs={RUNS}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    report = (result.stdout + result.stderr)[-6000:]
    assert result.returncode == 0, report
    assert f"Done {RUNS} runs" in result.stderr, report
    crashes = [p for p in tmp_path.rglob("*") if p.is_file() and "artifacts" in p.parts]
    assert not crashes, report
