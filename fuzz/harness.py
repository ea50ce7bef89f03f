"""Running an atheris harness: where its corpus and crash files go, and its seeds.

Each harness is a script: ``python fuzz/fuzz_metadata.py -runs=5000`` or
``-max_total_time=300``, any libFuzzer flag accepted. Unless told otherwise it works in
``$S3CSE_FUZZ_DIR/NAME`` (default: ``s3cse-fuzz`` in the system's temp directory), never
in the current directory: the corpus grows in ``corpus/``, crashing inputs land in
``artifacts/``. A crash ends the run with a non-zero exit status; to replay one, pass
its file: ``python fuzz/fuzz_metadata.py PATH/artifacts/crash-...``.

The edits drawn from fuzzer bytes here are the ``samples`` edits the Hypothesis tests
draw with strategies.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from fuzz.samples import CIPHERTEXT_KINDS, EDIT_KINDS, NAMES, VALUES, ByteEdit, Edit


def workdir(name: str) -> Path:
    base = os.environ.get("S3CSE_FUZZ_DIR") or os.path.join(tempfile.gettempdir(), "s3cse-fuzz")
    return Path(base) / name


def run(name: str, test_one_input: Callable[[bytes], None], seeds: Iterable[bytes]) -> None:
    """Hand ``test_one_input`` to libFuzzer with this project's defaults; never returns."""
    import atheris

    argv = list(sys.argv)
    flags = [a for a in argv[1:] if a.startswith("-")]
    inputs = [a for a in argv[1:] if not a.startswith("-")]
    place = workdir(name)
    if not any(f.startswith("-artifact_prefix=") for f in flags):
        (place / "artifacts").mkdir(parents=True, exist_ok=True)
        argv.append(f"-artifact_prefix={place / 'artifacts'}{os.sep}")
    if not inputs:
        corpus = place / "corpus"
        corpus.mkdir(parents=True, exist_ok=True)
        for seed in seeds:
            (corpus / f"seed-{hashlib.sha1(seed).hexdigest()}").write_bytes(seed)
        argv.append(str(corpus))
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()


def pick(provider: Any, options: tuple[str, ...] | list[str]) -> str:
    value: str = provider.PickValueInList(list(options))
    return value


def text(provider: Any, choices: tuple[str, ...], size: int) -> str:
    """One of ``choices`` (the format's words and known troublemakers), or fuzzer text."""
    if provider.ConsumeBool():
        return pick(provider, choices)
    value: str = provider.ConsumeUnicodeNoSurrogates(size)
    return value


def edits(provider: Any, most: int = 4) -> list[Edit]:
    return [
        Edit(
            pick(provider, EDIT_KINDS),
            text(provider, NAMES, 12),
            text(provider, VALUES, 60),
            provider.ConsumeIntInRange(0, 4096),
        )
        for _ in range(provider.ConsumeIntInRange(0, most))
    ]


def byte_edits(provider: Any, most: int = 3) -> list[ByteEdit]:
    return [
        ByteEdit(
            pick(provider, CIPHERTEXT_KINDS),
            provider.ConsumeIntInRange(0, 4096),
            provider.ConsumeBytes(provider.ConsumeIntInRange(0, 24)),
        )
        for _ in range(provider.ConsumeIntInRange(0, most))
    ]
