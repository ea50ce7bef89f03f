"""atheris harness: the encryption-metadata parser (``metadata.parse``,
``reads.parse_object_metadata``), fed JSON maps, mutated valid V1/V2/V3 metadata and
random maps. Only ``S3CSEError`` may escape; what parses serializes back to itself.

    python fuzz/fuzz_metadata.py -max_total_time=300
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import atheris

if __package__ in (None, ""):  # run as a script: this checkout's fuzz and s3cse packages
    ROOT = Path(__file__).resolve().parents[1]
    sys.path[:0] = [str(ROOT), str(ROOT / "src")]

with atheris.instrument_imports(include=["s3cse"]):
    import s3cse.core.metadata
    import s3cse.core.reads  # noqa: F401

from fuzz import harness
from fuzz.samples import NAMES, VALUES, apply_edits, check_metadata, metadata_seeds

SEEDS = metadata_seeds()
JSON, MUTATED, RANDOM = 0, 1, 2


def as_metadata(data: bytes) -> dict[str, str] | None:
    """A JSON object as a metadata map (S3 only ever returns strings: others are encoded)."""
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(value, dict):
        return None
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}


def test_one_input(data: bytes) -> None:
    mode, rest = (data[0] % 3, data[1:]) if data else (JSON, b"")
    provider = atheris.FuzzedDataProvider(rest)
    if mode == JSON:
        md = as_metadata(rest)
        if md is None:
            return
    elif mode == MUTATED:
        seed = SEEDS[provider.ConsumeIntInRange(0, len(SEEDS) - 1)]
        md = apply_edits(seed, harness.edits(provider))
    else:
        md = {
            harness.text(provider, NAMES, 16): harness.text(provider, VALUES, 80)
            for _ in range(provider.ConsumeIntInRange(0, 10))
        }
    check_metadata(md, instruction_file=bool(data) and data[-1] & 1 == 1)


def seeds() -> list[bytes]:
    out = [bytes([JSON]) + json.dumps(md).encode() for md in SEEDS]
    out += [bytes([MUTATED, i]) * 8 for i in range(len(SEEDS))]
    out += [bytes([RANDOM]) + bytes(range(64))]
    return out


if __name__ == "__main__":
    harness.run("metadata", test_one_input, seeds())
