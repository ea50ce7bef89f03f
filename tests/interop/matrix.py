"""The cross-client interoperability matrix: its axes, what each cell must be, and the table.

Rows are a writer and the mode it writes in; columns are readers. A cell is ``ok`` (the
reader returned exactly the bytes written), ``not supported`` (the reader genuinely cannot
read that mode: the test asserts that it fails, and fails for that reason), or ``FAILED``.
``test_matrix.py`` fills the cells; ``conftest.py`` prints the table at the end of the run
and writes it to ``build/interop-matrix.md``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

MIB = 1024 * 1024
SIZES = (0, 1, 16, 17, MIB + 3)
MULTIPART_SIZE = 17 * MIB + 5
"""Written with a multipart upload (three parts of 8 MiB, 8 MiB and 1 MiB + 5 B)."""

READERS = ("s3cse", "s3cse-async", "official", "aioboto3")
S3CSE_CLIENTS = {"s3cse": "sync", "s3cse-async": "async"}
"""s3cse's own clients, in process: ``EncryptionClient`` and ``AsyncEncryptionClient``."""
PEERS = {
    "official": "S3CSE_OFFICIAL_PYTHON",
    "aioboto3": "S3CSE_AIOBOTO3_PYTHON",
}


@dataclass(frozen=True)
class Mode:
    """One way a writer encrypts. ``generation``: v3, v2 or legacy (V1-era wraps/content)."""

    writer: str
    name: str
    keys: str  # kms | aes | rsa
    generation: str  # v3 | v2 | legacy
    cbc: bool = False  # unauthenticated AES-CBC content
    multipart: bool = False  # the writer can also write this mode as a multipart upload

    @property
    def label(self) -> str:
        return f"{self.writer} {self.name}"

    @property
    def ident(self) -> str:
        return f"{self.writer}-{self.name}"


MODES = (
    *(
        Mode(writer, f"{generation}-{keys}", keys, generation, multipart=True)
        for writer in S3CSE_CLIENTS
        for keys in ("kms", "aes", "rsa")
        for generation in ("v3", "v2")
    ),
    Mode("official", "v3-kms", "kms", "v3", multipart=True),
    Mode("official", "v2-kms", "kms", "v2", multipart=True),
    Mode("aioboto3", "kms-gcm", "kms", "legacy"),
    Mode("aioboto3", "kms-cbc", "kms", "legacy", cbc=True),
    Mode("aioboto3", "symmetric", "aes", "legacy", cbc=True),
    Mode("aioboto3", "asymmetric", "rsa", "legacy", cbc=True),
)

# Why a reader cannot read a mode, and what its failure must look like (any of the
# fragments in its "Type: message" error), so a cell cannot pass by failing otherwise.
AIO_V3 = (
    "aioboto3 cannot read V3: it knows only x-amz-key / x-amz-key-v2 and hands a V3 "
    "object back undecrypted"
)
AIO_AES_GCM = "aioboto3's SymmetricCryptoContext unwraps only V1 AES/ECB keys, not AES/GCM wraps"
AIO_RSA_OAEP = "aioboto3's AsymmetricCryptoContext unwraps only RSA PKCS#1 v1.5, not RSA-OAEP-SHA1"
OFFICIAL_RAW = "the official client 4.0.0 has a KMS keyring only (no raw AES/RSA keyrings)"
AIO_NO_MULTIPART = "aioboto3 S3CSE has no multipart upload"

FAILURE_SIGNATURES = {
    AIO_V3: ("NotDecrypted:",),
    # ECB-decrypting the 60-byte IV + GCM blob: not a whole number of AES blocks.
    AIO_AES_GCM: ("ValueError: The length of the provided data is not a multiple",),
    # PKCS#1 v1.5 "decryption" of an OAEP wrap yields garbage (OpenSSL's implicit
    # rejection returns random bytes): a bad AES key length, or a failed GCM tag.
    AIO_RSA_OAEP: ("ValueError: AESGCM key must be", "DecryptError: Failed to decrypt"),
    OFFICIAL_RAW: ("is not a valid key wrapping algorithm",),
}

MULTIPART_GAPS = {"aioboto3": AIO_NO_MULTIPART}


def expected(mode: Mode, reader: str) -> str | None:
    """None when ``reader`` must read ``mode`` exactly; else why it cannot."""
    if reader == "aioboto3":
        if mode.generation == "v3":
            return AIO_V3
        if mode.writer != "aioboto3" and mode.keys == "aes":
            return AIO_AES_GCM
        if mode.writer != "aioboto3" and mode.keys == "rsa":
            return AIO_RSA_OAEP
    if reader == "official" and mode.keys != "kms":
        return OFFICIAL_RAW
    return None


def size_id(size: int) -> str:
    if size < MIB:
        return f"{size}B"
    return f"{size // MIB}MiB" + (f"+{size % MIB}B" if size % MIB else "")


# ---------------------------------------------------------------- results and the table

OK, NOT_SUPPORTED, FAILED, SKIPPED = "ok", "not supported", "FAILED", "skipped"
SINGLE, MULTIPART = "single", "multipart"


@dataclass(frozen=True)
class Outcome:
    status: str
    reason: str = ""
    detail: str = ""  # what the reader said (its error for a not-supported cell); not shown


Results = dict[tuple[str, str, str, str], Outcome]  # (table, row, reader, size) -> outcome
RESULTS_KEY = pytest.StashKey[Results]()

TABLES = {
    SINGLE: (
        "Single PutObject",
        f"sizes {', '.join(size_id(s) for s in SIZES)}; one cell covers all sizes",
    ),
    MULTIPART: (
        "Multipart upload",
        f"{size_id(MULTIPART_SIZE)} in 8 MiB parts, where the writer has multipart uploads",
    ),
}


def single_rows() -> list[str]:
    return [mode.label for mode in MODES]


def multipart_rows() -> list[str]:
    rows = [f"{mode.label} (multipart)" for mode in MODES if mode.multipart]
    return rows + [f"{writer} (any mode)" for writer in MULTIPART_GAPS]


class Notes:
    """Numbered reasons, so cells stay short."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def ref(self, text: str) -> str:
        if text not in self.texts:
            self.texts.append(text)
        return f"[{self.texts.index(text) + 1}]"


def _cell(outcomes: dict[str, Outcome], notes: Notes) -> str:
    if not outcomes:
        return "not run"
    distinct = {Outcome(o.status, o.reason) for o in outcomes.values()}
    if len(distinct) == 1:
        outcome = distinct.pop()
        return outcome.status + (f" {notes.ref(outcome.reason)}" if outcome.reason else "")
    parts = []
    for size, outcome in outcomes.items():
        note = f" {notes.ref(outcome.reason)}" if outcome.reason else ""
        parts.append(f"{size}: {outcome.status}{note}")
    return "; ".join(parts)


def _grid(headers: list[str], rows: Iterable[list[str]]) -> list[str]:
    table = [headers, *rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [
        line(row) for row in table[1:]
    ]


def render(results: Results) -> list[str]:
    """The matrix as Markdown lines (aligned, so it reads as well in a terminal)."""
    notes = Notes()
    lines: list[str] = ["# Cross-client interoperability matrix", ""]
    lines.append(
        "Rows: writer and mode; columns: reader. Readers are configured as a user "
        "would for the mode (legacy modes and V2 allowed where needed)."
    )
    for table, rows in ((SINGLE, single_rows()), (MULTIPART, multipart_rows())):
        title, scope = TABLES[table]
        body = []
        for row in rows:
            cells = [row]
            for reader in READERS:
                outcomes = {
                    size: outcome
                    for (t, r, rd, size), outcome in results.items()
                    if (t, r, rd) == (table, row, reader)
                }
                cells.append(_cell(outcomes, notes))
            body.append(cells)
        lines += ["", f"## {title} ({scope})", "", *_grid(["writer / mode", *READERS], body)]
    if notes.texts:
        lines += ["", "Notes:", ""]
        lines += [f"- [{i}] {text}" for i, text in enumerate(notes.texts, 1)]
    return lines


def write_markdown(results: Results, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(render(results)) + "\n")
