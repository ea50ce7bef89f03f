"""Generate the sync flavour of s3cse (``src/s3cse/_sync/``) from the async one
(``src/s3cse/_async/``), so that the I/O code is written once.

Every file in ``_async`` is rewritten token by token with the table below, then sorted
and formatted by ruff, and written under the same name in ``_sync``. What truly differs
between the flavours is written by hand in ``s3cse.io.backends`` (and, for a transfer's
parts, ``s3cse.io.running``) as ``AsyncX`` / ``X`` pairs, which the rename of
``Async``-prefixed names maps one onto the other.

    python scripts/unasync.py            # regenerate _sync/
    python scripts/unasync.py --check    # exit 1 naming each stale file in _sync/
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "s3cse"
SOURCE, TARGET = PACKAGE / "_async", PACKAGE / "_sync"

# Keywords first: ``async def`` and friends lose their ``async``, awaits disappear.
PHRASES = [
    (r"\basync def\b", "def"),
    (r"\basync with\b", "with"),
    (r"\basync for\b", "for"),
    (r"\bawait ", ""),
]

# Then names. ``AsyncFoo`` becomes ``Foo`` and ``async_foo`` ``foo`` unless listed here.
NAMES = {
    "__aenter__": "__enter__",
    "__aexit__": "__exit__",
    "__aiter__": "__iter__",
    "__anext__": "__next__",
    "AsyncIterator": "Iterator",
    "AsyncIterable": "Iterable",
    "AsyncGenerator": "Generator",
    "asynccontextmanager": "contextmanager",
    "async_body_errors": "s3_errors",
    "_async": "_sync",
    "aencryption_materials": "encryption_materials",
    "adecrypt_data_key": "decrypt_data_key",
    "async_destination": "atomic_destination",
}
ASYNC_PREFIX = re.compile(r"\bAsync(?=[A-Z])|\basync_(?=[a-z])")
IDENTIFIER = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*\b")


def header(name: str) -> str:
    return f"# Generated from s3cse/_async/{name} by scripts/unasync.py: edit that file instead.\n"


def unasync(text: str) -> str:
    for pattern, replacement in PHRASES:
        text = re.sub(pattern, replacement, text)
    text = IDENTIFIER.sub(lambda m: NAMES.get(m.group(0), m.group(0)), text)
    return ASYNC_PREFIX.sub("", text)


def ruff(args: list[str], text: str, path: Path) -> str:
    command = [sys.executable, "-m", "ruff", *args, "--stdin-filename", str(path), "-"]
    done = subprocess.run(command, input=text, capture_output=True, text=True, check=True)
    return done.stdout


def generate(source: Path) -> str:
    target = TARGET / source.name
    text = header(source.name) + unasync(source.read_text())
    text = ruff(["check", "--fix", "--exit-zero", "--quiet"], text, target)
    return ruff(["format", "--quiet"], text, target)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only say which files are stale")
    check = parser.parse_args().check
    sources = sorted(SOURCE.glob("*.py"))
    expected = {TARGET / s.name: generate(s) for s in sources}
    stale = [t for t, text in expected.items() if not t.exists() or t.read_text() != text]
    extra = [t for t in TARGET.glob("*.py") if t not in expected]
    if check:
        for path in stale:
            print(f"{path.relative_to(PACKAGE.parent.parent)} is stale: run scripts/unasync.py")
        for path in extra:
            print(f"{path.relative_to(PACKAGE.parent.parent)} has no source in _async/")
        return 1 if stale or extra else 0
    TARGET.mkdir(exist_ok=True)
    for path in stale:
        path.write_text(expected[path])
    for path in extra:
        path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
