"""Cross-client interoperability matrix: each writer x mode x size, read by each reader.

Writers and readers are s3cse (in process: the sync ``EncryptionClient`` as ``s3cse`` and
the ``AsyncEncryptionClient`` as ``s3cse-async``), the official
amazon-s3-encryption-client-python 4.0.0 and aioboto3 15.5.0's ``S3CSE``; the two peers
live in their own virtual
environments (``make peers``) and are driven through ``peers/*_driver.py``. The axes and
the expected cells are in ``matrix.py``: a cell is ``ok`` (the reader returns exactly the
bytes written, sha256-compared) or ``not supported`` (the reader genuinely cannot read
that mode: the test asserts that the peer fails, and fails for that reason).

Sizes 0, 1, 16, 17 and 1 MiB + 3 B go up with one PutObject; 17 MiB + 5 B goes up as a
multipart upload where the writer has one (both s3cse clients and the official client:
``upload_file``, checked by the multipart ETag), and s3cse reads that size with
``download_file`` (parallel ranged GETs). aioboto3's ``S3CSE`` has no multipart upload:
checked, and shown as such.

To keep the run short, each (writer, mode, size) object is written once and read by every
reader, and each peer runs as one subprocess for all its writes and one for all its reads
(covering the cells selected in this session). Readers are configured as a user would for
the mode: V3 with the defaults; V2 with REQUIRE_ENCRYPT_ALLOW_DECRYPT; aioboto3's V1-era
``kms`` wraps and AES-CBC content with legacy modes on (s3cse ``legacy=True``; official
``enable_legacy_wrapping_algorithms`` / ``enable_legacy_unauthenticated_modes``).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from s3cse import (
    AesKeyring,
    CommitmentPolicy,
    CryptoConfig,
    EncryptionClient,
    FormatVersion,
    Keyring,
    KmsKeyring,
    RsaKeyPair,
    RsaKeyring,
)

from ..keys import aes_key, rsa_private
from .matrix import (
    FAILED,
    FAILURE_SIGNATURES,
    MODES,
    MULTIPART,
    MULTIPART_GAPS,
    MULTIPART_SIZE,
    NOT_SUPPORTED,
    OK,
    PEERS,
    READERS,
    RESULTS_KEY,
    S3CSE_CLIENTS,
    SINGLE,
    SIZES,
    SKIPPED,
    Mode,
    Outcome,
    Results,
    expected,
    size_id,
)

pytestmark = [pytest.mark.interop, pytest.mark.integration]

PEER_DIR = Path(__file__).parent / "peers"
DRIVERS = {"official": PEER_DIR / "official_driver.py", "aioboto3": PEER_DIR / "aioboto3_driver.py"}
PEER_TIMEOUT = 900  # seconds for one batch (all of a peer's writes, or all its reads)
CONTEXT = {"tenant": "t1", "purpose": "interop-matrix"}
MATDESC = {"purpose": "interop-matrix"}  # s3cse's raw keyrings name their key
ALLOW = CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT
AIO_CONTEXTS = {"kms": "kms", "aes": "symmetric", "rsa": "asymmetric"}
Verdict = dict[str, Any]
Place = tuple[str, str, str, str]  # a result's table, row, reader, size


@dataclass(frozen=True)
class Cell:
    mode: Mode
    size: int
    reader: str

    @property
    def multipart(self) -> bool:
        return self.size == MULTIPART_SIZE

    @property
    def table(self) -> str:
        return MULTIPART if self.multipart else SINGLE

    @property
    def row(self) -> str:
        return f"{self.mode.label} (multipart)" if self.multipart else self.mode.label

    @property
    def id(self) -> str:
        return f"{self.mode.ident}-{size_id(self.size)}-by-{self.reader}"


CELLS = [
    Cell(mode, size, reader)
    for mode in MODES
    for size in (*SIZES, *((MULTIPART_SIZE,) if mode.multipart else ()))
    for reader in READERS
]
GAPS = [(writer, reader) for writer in MULTIPART_GAPS for reader in READERS]


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def peer_python(peer: str) -> tuple[str | None, str]:
    """The peer's interpreter, or why there is none."""
    var = PEERS[peer]
    python = os.environ.get(var, "")
    if python and os.path.isfile(python) and os.access(python, os.X_OK):
        return python, ""
    reason = f"{var} is not set" if not python else f"{var}={python!r} is not an executable file"
    return None, (
        f"{reason}: the {peer} interop cells need the peer venv (`make peers`, then "
        f"{var}=.venv-peers/{peer}/bin/python, or run `make test`)"
    )


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for block in iter(lambda: source.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def failure(exc: BaseException) -> Verdict:
    return {"ok": False, "error": f"{type(exc).__name__}: {exc}", "error_type": type(exc).__name__}


@dataclass
class Stored:
    """One object of the matrix: its plaintext, where it went, and how writing went."""

    key: str
    plaintext: Path
    digest: str
    written: Verdict | None = None


class Matrix:
    """Writes each needed object once, reads it per reader (peers in batches), judges."""

    def __init__(
        self,
        request: pytest.FixtureRequest,
        s3: Any,
        kms: Any,
        bucket: str,
        kms_key_id: str,
        workdir: Path,
        async_stack: Any,
    ) -> None:
        self.s3, self.kms, self.bucket, self.kms_key_id = s3, kms, bucket, kms_key_id
        self.async_stack = async_stack
        self.workdir = workdir
        self.prefix = f"matrix/{uuid.uuid4().hex[:8]}"
        self.results: Results = request.config.stash.setdefault(RESULTS_KEY, {})
        self.pythons = {peer: peer_python(peer) for peer in PEERS}
        selected = [getattr(item, "callspec", None) for item in request.session.items]
        self.cells = [
            spec.params["cell"]
            for spec in selected
            if spec is not None
            and isinstance(spec.params.get("cell"), Cell)
            and self.unavailable(spec.params["cell"].mode.writer, spec.params["cell"].reader)
            is None
        ]
        self.objects: dict[tuple[Mode, int], Stored] = {}
        self.written: set[str] = set()
        self.reads: dict[str, dict[tuple[Mode, int], Verdict]] = {}
        self.probe: Verdict | None = None
        self.aes_key_file = workdir / "aes.key"
        self.aes_key_file.write_bytes(aes_key(0))
        self.rsa_key_file = workdir / "rsa-private.der"
        self.rsa_key_file.write_bytes(
            rsa_private(0).private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )

    # ------------------------------------------------------------ peers

    def unavailable(self, *clients: str) -> str | None:
        for client in clients:
            if client in PEERS and self.pythons[client][0] is None:
                return self.pythons[client][1]
        return None

    def require(self, place: Place | None, *clients: str) -> None:
        """Skip (under CI: fail) the test when a peer it needs has no venv."""
        reason = self.unavailable(*clients)
        if reason is None:
            return
        if place is not None:
            self.record(*place, Outcome(FAILED if _ci() else SKIPPED, reason))
        if _ci():
            pytest.fail(f"CI is set, interop must not be skipped: {reason}", pytrace=False)
        pytest.skip(reason)

    def driver(self, peer: str, requests: list[Verdict]) -> list[Verdict]:
        """One subprocess for the whole batch; a crash fails every request of it."""
        if not requests:
            return []
        python = self.pythons[peer][0]
        assert python is not None
        try:
            done = subprocess.run(
                [python, str(DRIVERS[peer]), "-"],
                input=json.dumps(requests),
                env=dict(os.environ),
                capture_output=True,
                text=True,
                timeout=PEER_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            crash = f"{peer} driver timed out after {PEER_TIMEOUT}s"
            return [{"ok": False, "error": crash, "error_type": "DriverCrash"}] * len(requests)
        lines = done.stdout.strip().splitlines()
        verdicts = json.loads(lines[-1]) if done.returncode == 0 and lines else None
        if not isinstance(verdicts, list) or len(verdicts) != len(requests):
            crash = (
                f"{peer} driver crashed (exit {done.returncode}):\n"
                f"stdout: {done.stdout[-2000:]}\nstderr: {done.stderr[-4000:]}"
            )
            return [{"ok": False, "error": crash, "error_type": "DriverCrash"}] * len(requests)
        return verdicts

    def aioboto3_probe(self) -> Verdict:
        if self.probe is None:
            self.probe = self.driver("aioboto3", [{"op": "probe"}])[0]
        return self.probe

    # ------------------------------------------------------------ objects

    def stored(self, mode: Mode, size: int) -> Stored:
        if (mode, size) not in self.objects:
            name = f"{mode.ident}-{size_id(size)}"
            plaintext = self.workdir / f"{name}.plaintext"
            plaintext.write_bytes(os.urandom(size))
            self.objects[mode, size] = Stored(f"{self.prefix}/{name}", plaintext, sha256(plaintext))
        return self.objects[mode, size]

    def kms_context(self, mode: Mode) -> dict[str, str] | None:
        """s3cse and the official client write with a context; aioboto3 cannot."""
        return CONTEXT if mode.keys == "kms" and mode.writer != "aioboto3" else None

    def write_all(self, writer: str) -> None:
        """Write every object of ``writer`` that the selected cells need, once."""
        if writer in self.written:
            return
        self.written.add(writer)
        needed = sorted(
            {(c.mode, c.size) for c in self.cells if c.mode.writer == writer},
            key=lambda ms: (MODES.index(ms[0]), ms[1]),
        )
        objects = [(mode, size, self.stored(mode, size)) for mode, size in needed]
        if writer in S3CSE_CLIENTS:
            verdicts = [self.s3cse_put(mode, size, obj) for mode, size, obj in objects]
        else:
            requests = [self.put_request(mode, size, obj) for mode, size, obj in objects]
            verdicts = self.driver(writer, requests)
        for (_, size, obj), verdict in zip(objects, verdicts, strict=True):
            obj.written = verdict
            if verdict["ok"] and size == MULTIPART_SIZE:
                etag = self.s3.head_object(Bucket=self.bucket, Key=obj.key)["ETag"]
                if "-" not in etag:
                    obj.written = {"ok": False, "error": f"not a multipart object (ETag {etag})"}

    def s3cse_keyring(self, keys: str) -> Keyring:
        if keys == "kms":
            return KmsKeyring(self.kms_key_id, kms_client=self.kms)
        if keys == "aes":
            return AesKeyring(aes_key(0), MATDESC)
        return RsaKeyring(RsaKeyPair(private_key=rsa_private(0)), MATDESC)

    def s3cse_client(self, kind: str, keys: str, config: CryptoConfig) -> Any:
        """``EncryptionClient``, or ``AsyncEncryptionClient`` through its test facade."""
        if S3CSE_CLIENTS[kind] == "async":
            return self.async_stack.client(self.s3cse_keyring(keys), config=config)
        return EncryptionClient(self.s3cse_keyring(keys), s3_client=self.s3, config=config)

    def s3cse_put(self, mode: Mode, size: int, obj: Stored) -> Verdict:
        """put_object; the multipart size through upload_file (parallel multipart upload)."""
        config = CryptoConfig(format=FormatVersion.parse(mode.generation))
        client = self.s3cse_client(mode.writer, mode.keys, config)
        context = self.kms_context(mode)
        try:
            if size == MULTIPART_SIZE:
                extra = {"EncryptionContext": context} if context else None
                client.upload_file(str(obj.plaintext), self.bucket, obj.key, ExtraArgs=extra)
                return {"ok": True}
            with obj.plaintext.open("rb") as body:
                client.put_object(
                    Bucket=self.bucket, Key=obj.key, Body=body, EncryptionContext=context
                )
        except Exception as exc:
            return failure(exc)
        return {"ok": True}

    def put_request(self, mode: Mode, size: int, obj: Stored) -> Verdict:
        request = {"op": "put", "bucket": self.bucket, "key": obj.key, "file": str(obj.plaintext)}
        if mode.writer == "official":
            return {
                **request,
                "kms_key_id": self.kms_key_id,
                "format": mode.generation,
                "context": self.kms_context(mode),
                "multipart": size == MULTIPART_SIZE,
            }
        return {**request, **self.aioboto3_keys(mode), "authenticated": not mode.cbc}

    def aioboto3_keys(self, mode: Mode) -> Verdict:
        return {
            "context": AIO_CONTEXTS[mode.keys],
            "kms_key_id": self.kms_key_id,
            "aes_key_file": str(self.aes_key_file),
            "rsa_key_file": str(self.rsa_key_file),
        }

    # ------------------------------------------------------------ reading

    def output(self, cell: Cell) -> Path:
        return self.workdir / f"{cell.id}.out"

    def read(self, cell: Cell) -> Verdict:
        """The reader's verdict on the cell's object; its plaintext goes to output(cell)."""
        if cell.reader in S3CSE_CLIENTS:
            return self.s3cse_get(cell)
        if cell.reader not in self.reads:
            self.read_all(cell.reader)
        return self.reads[cell.reader].get((cell.mode, cell.size)) or {
            "ok": False,
            "error": "the batch did not cover this cell",
            "error_type": "Missing",
        }

    def read_all(self, reader: str) -> None:
        """One batch: every selected cell of ``reader`` whose object was written."""
        cells = [c for c in self.cells if c.reader == reader]
        for writer in dict.fromkeys(c.mode.writer for c in cells):
            self.write_all(writer)
        cells = [c for c in cells if self.stored(c.mode, c.size).written == {"ok": True}]
        requests = [self.get_request(c) for c in cells]
        verdicts = self.driver(reader, requests)
        self.reads[reader] = {(c.mode, c.size): v for c, v in zip(cells, verdicts, strict=True)}

    def get_request(self, cell: Cell) -> Verdict:
        mode, obj = cell.mode, self.stored(cell.mode, cell.size)
        out = str(self.output(cell))
        request = {"op": "get", "bucket": self.bucket, "key": obj.key, "file": out}
        if cell.reader == "official":
            return {
                **request,
                "kms_key_id": self.kms_key_id,
                "format": "v3" if mode.generation == "v3" else "v2",
                "policy": None if mode.generation == "v3" else ALLOW.value,
                "legacy_wrapping": mode.generation == "legacy",
                "legacy_unauthenticated": mode.cbc,
                "context": self.kms_context(mode),
            }
        return {**request, **self.aioboto3_keys(mode)}

    def s3cse_get(self, cell: Cell) -> Verdict:
        """get_object; the multipart size through download_file (parallel ranged GETs)."""
        mode, obj = cell.mode, self.stored(cell.mode, cell.size)
        config = CryptoConfig(
            commitment_policy=None if mode.generation == "v3" else ALLOW,
            legacy=mode.generation == "legacy",
        )
        client = self.s3cse_client(cell.reader, mode.keys, config)
        context = self.kms_context(mode)
        try:
            if cell.multipart:
                extra = {"EncryptionContext": context} if context else None
                client.download_file(self.bucket, obj.key, str(self.output(cell)), ExtraArgs=extra)
                return {"ok": True}
            response = client.get_object(Bucket=self.bucket, Key=obj.key, EncryptionContext=context)
            self.output(cell).write_bytes(response["Body"].read())
        except Exception as exc:
            return failure(exc)
        return {"ok": True}

    # ------------------------------------------------------------ judging

    def run(self, cell: Cell) -> Outcome:
        self.write_all(cell.mode.writer)
        obj = self.stored(cell.mode, cell.size)
        assert obj.written is not None
        if not obj.written["ok"]:
            return Outcome(FAILED, f"{cell.mode.writer} could not write: {obj.written['error']}")
        verdict = self.read(cell)
        reason = expected(cell.mode, cell.reader)
        out = self.output(cell)
        if reason is None:
            if not verdict["ok"]:
                return Outcome(FAILED, f"{cell.reader} failed: {verdict['error']}")
            if out.stat().st_size != cell.size or sha256(out) != obj.digest:
                return Outcome(
                    FAILED,
                    f"{cell.reader} returned {out.stat().st_size} bytes that differ "
                    f"from the {cell.size} written",
                )
            return Outcome(OK)
        if verdict["ok"]:
            same = out.exists() and sha256(out) == obj.digest
            return Outcome(
                FAILED,
                (
                    f"expected not supported ({reason}), but {cell.reader} read it"
                    + (" exactly: update matrix.expected" if same else " and returned WRONG bytes")
                ),
            )
        if not any(sig in verdict["error"] for sig in FAILURE_SIGNATURES[reason]):
            return Outcome(
                FAILED,
                (
                    f"not supported ({reason}), but {cell.reader} failed otherwise than expected: "
                    f"{verdict['error']}"
                ),
            )
        return Outcome(NOT_SUPPORTED, reason, verdict["error"])

    def record(self, table: str, row: str, reader: str, size: str, outcome: Outcome) -> None:
        self.results[table, row, reader, size] = outcome


@pytest.fixture(scope="session")
def matrix(
    request: pytest.FixtureRequest,
    s3: Any,
    kms: Any,
    bucket: str,
    kms_key_id: str,
    tmp_path_factory: pytest.TempPathFactory,
    async_stack: Any,
) -> Matrix:
    return Matrix(
        request, s3, kms, bucket, kms_key_id, tmp_path_factory.mktemp("matrix"), async_stack
    )


def _short(text: str) -> str:
    return text.splitlines()[0][:300] if text else text


@pytest.mark.parametrize("cell", CELLS, ids=[c.id for c in CELLS])
def test_matrix(cell: Cell, matrix: Matrix) -> None:
    place = (cell.table, cell.row, cell.reader, size_id(cell.size))
    matrix.require(place, cell.mode.writer, cell.reader)
    outcome = matrix.run(cell)
    matrix.record(*place, Outcome(outcome.status, _short(outcome.reason)))
    if outcome.detail:
        print(f"{cell.id}: {outcome.status}; {cell.reader} said: {outcome.detail}")
    if outcome.status == FAILED:
        pytest.fail(outcome.reason, pytrace=False)


@pytest.mark.parametrize(("writer", "reader"), GAPS, ids=[f"{w}-by-{r}" for w, r in GAPS])
def test_matrix_multipart_writer_gap(writer: str, reader: str, matrix: Matrix) -> None:
    """A writer without multipart uploads: keep the table honest by checking it still lacks
    them (once it gains them, it must get real multipart rows in the matrix)."""
    place = (MULTIPART, f"{writer} (any mode)", reader, size_id(MULTIPART_SIZE))
    assert writer == "aioboto3", f"no multipart gap check for {writer}"
    matrix.require(place, writer)
    probe = matrix.aioboto3_probe()
    present = [name for name, has in probe.get("multipart", {}).items() if has]
    if not probe["ok"] or present:
        problem = (
            f"aioboto3 S3CSE now has {present}: add its multipart modes to the matrix"
            if probe["ok"]
            else f"aioboto3 probe failed: {probe['error']}"
        )
        matrix.record(*place, Outcome(FAILED, _short(problem)))
        pytest.fail(problem, pytrace=False)
    matrix.record(*place, Outcome(NOT_SUPPORTED, MULTIPART_GAPS[writer]))


def test_aioboto3_peer_versions(matrix: Matrix) -> None:
    """Guard against the peer venv silently holding something else."""
    matrix.require(None, "aioboto3")
    probe = matrix.aioboto3_probe()
    assert probe["ok"], probe
    assert probe["versions"]["aioboto3"] == "15.5.0"
    assert probe["versions"]["aiobotocore"] == "2.25.1"
