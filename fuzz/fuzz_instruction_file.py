"""atheris harness: instruction files (``metadata.parse_instruction_file``,
``reads.parse_with_instruction_file``), fed raw bytes, mutated valid files and valid
files with changed fields, then decrypted with them. Only ``S3CSEError`` may escape,
the parser refuses with ``InstructionFileError``, and a damaged instruction file never
makes an authenticated object decrypt to anything but its plaintext.

    python fuzz/fuzz_instruction_file.py -max_total_time=300
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
    import s3cse
    import s3cse.core.metadata
    import s3cse.core.reads  # noqa: F401

from fuzz import harness
from fuzz.samples import (
    apply_byte_edits,
    apply_edits,
    attempt,
    check_instruction_file,
    check_plaintext,
    samples,
)

WITH_INSTRUCTION = [s for s in samples() if s.instruction is not None]
RAW, BYTES, FIELDS = 0, 1, 2


def test_one_input(data: bytes) -> None:
    mode = data[0] % 3 if data else RAW
    sample = WITH_INSTRUCTION[(data[1] if len(data) > 1 else 0) % len(WITH_INSTRUCTION)]
    rest = data[2:]
    provider = atheris.FuzzedDataProvider(rest)
    assert sample.instruction is not None
    if mode == RAW:
        body = rest
    elif mode == BYTES:
        body = apply_byte_edits(sample.instruction, harness.byte_edits(provider))
    else:
        fields = apply_edits(json.loads(sample.instruction), harness.edits(provider))
        body = json.dumps(fields).encode()
    check_instruction_file(body, sample.metadata)
    check_plaintext(
        sample,
        attempt(lambda: sample.decrypt(instruction=body)),
        content_changed=False,
        intact=body == sample.instruction,
    )


def seeds() -> list[bytes]:
    out = [
        bytes([RAW, i]) + s.instruction
        for i, s in enumerate(WITH_INSTRUCTION)
        if s.instruction is not None
    ]
    out += [bytes([BYTES, i]) + bytes(range(i, 40)) for i in range(len(WITH_INSTRUCTION))]
    out += [bytes([FIELDS, i]) + bytes(range(i, 40)) for i in range(len(WITH_INSTRUCTION))]
    return out


if __name__ == "__main__":
    harness.run("instruction-file", test_one_input, seeds())
