"""The README's examples run as written, in order, against a local stack they start.

Every ``sh`` block runs as it stands and every ``python`` block through ``python -``, all
in one bash script, so a variable one block sets (``KEY``, the endpoints that
``eval "$(s3cse local start)"`` exports) is there for the next, as for a reader who pastes
them one after the other. A block marked ``<!-- not run: why -->`` on the line before its
fence is skipped. The reader's own files (``report.csv``, ``video.mp4``, ``data/``) are
made first; the stack gets a state directory of its own and is stopped by the README's
last example (and by this test if the script fails before it).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from s3cse.local import stack as local

pytestmark = pytest.mark.integration
README = Path(__file__).resolve().parents[2] / "README.md"
FENCE = re.compile(
    r"(?:<!-- not run: (?P<why>[^>]*) -->\n)?```(?P<lang>sh|python)\n(?P<body>.*?)```", re.DOTALL
)


def script() -> str:
    """The README as one bash script. Python blocks with no shell block between them run
    in one interpreter, as a reader keeps one session open across them (``client`` from
    the quick start is used by the next example)."""
    parts: list[str] = []
    python: list[str] = []
    for block in FENCE.finditer(README.read_text()):
        if block["why"]:
            continue
        if block["lang"] == "python":
            python.append(block["body"])
            continue
        if python:
            parts.append(_python_step(python))
            python = []
        parts.append(block["body"])
    if python:
        parts.append(_python_step(python))
    return "\n".join(parts)


def _python_step(blocks: list[str]) -> str:
    """``python -c``, not ``python -``: Dask's worker processes start by spawning, which
    re-runs a main module that has a file name, and stdin has one (``<stdin>``)."""
    return "python -c \"$(cat <<'README_PY'\n" + "\n".join(blocks) + 'README_PY\n)"\n'


def test_the_walkthrough_has_every_example() -> None:
    text = README.read_text()
    fences = len(re.findall(r"^```(?:sh|python)$", text, re.MULTILINE))
    skipped = len(re.findall(r"<!-- not run: ", text))
    assert len(list(FENCE.finditer(text))) == fences
    assert skipped <= 3, "examples are there to run"
    assert "s3cse local stop" in script().strip().splitlines()[-1]


def _reader_files(work: Path) -> None:
    (work / "report.csv").write_text("city,amount\nLyon,12.5\nOslo,7.0\n")
    (work / "video.mp4").write_bytes(os.urandom(24 * 1024 * 1024))
    data = work / "data"
    (data / "2026").mkdir(parents=True)
    (data / "readme.txt").write_text("raw data\n")
    (data / "2026" / "q1.csv").write_text("a,b\n1,2\n")


def test_readme_runs_as_written(tmp_path: Path) -> None:
    work, state = tmp_path / "work", tmp_path / "state"
    work.mkdir()
    _reader_files(work)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "S3CSE_"))}
    env.update(
        S3CSE_LOCAL_STATE_DIR=str(state),
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    try:
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script()],
            cwd=work,
            env=env,
            capture_output=True,
            timeout=900,
            check=False,
        )
    finally:
        local.stop(state)
    out, err = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 0, f"{out[-3000:]}\n{err[-5000:]}"
    assert (work / "copy.csv").read_text() == (work / "report.csv").read_text()
    assert (work / "copy.mp4").read_bytes() == (work / "video.mp4").read_bytes()
    assert (work / "restored" / "2026" / "q1.csv").read_text() == "a,b\n1,2\n"
    assert "('Lyon', 12.5)" in out  # DuckDB's answer
    assert "22.75" in out  # Dask's (and Polars') sum
    assert local.status(state) is None  # the README's last example stopped the stack
