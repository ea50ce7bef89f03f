"""Client settings as plain, picklable data, so they can travel to worker processes."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import TypedDict

from .errors import ConfigurationError
from .metadata import DEFAULT_INSTRUCTION_SUFFIX
from .suites import AlgorithmSuite, CommitmentPolicy, FormatVersion, write_suite

DEFAULT_SPOOL_THRESHOLD = 8 * 1024 * 1024
DEFAULT_DECRYPT_CACHE_SECONDS = 60.0
"""Within KMS's own eventual consistency for grants (up to five minutes)."""


class CryptoOptions(TypedDict, total=False):
    """The ``CryptoConfig`` fields a client's constructor takes as keywords, each
    overriding the ``config=`` given (or the safe default). Named and typed here so that
    editors complete them and type checkers catch a misspelt one."""

    format: FormatVersion | str
    """Format written: ``"v3"`` (default, key commitment) or ``"v2"``."""
    commitment_policy: CommitmentPolicy | str | None
    """REQUIRE_ENCRYPT_REQUIRE_DECRYPT (v3's default), REQUIRE_ENCRYPT_ALLOW_DECRYPT or
    FORBID_ENCRYPT_ALLOW_DECRYPT (v2's)."""
    legacy: bool
    """Read legacy unauthenticated modes (AES-CBC, ``kms``, ``AESWrap``, V1 wraps)."""
    delayed_authentication: bool
    """Release plaintext before the GCM tag is verified (streams, trusts early bytes)."""
    unauthenticated_ranges: bool
    """Allow byte ranges of AES-GCM objects that have no integrity index, unverified."""
    integrity_index: bool
    """Also write ``KEY.s3cse-index`` so byte ranges can be authenticated."""
    indexed_streaming: bool
    """``get_object`` streams objects that have an integrity index, each chunk released
    once it verifies (one more request per GET, for the index header)."""
    instruction_file: bool
    """Store the wrapped key in ``KEY.instruction`` instead of the object metadata."""
    spool_threshold: int
    """Bytes of plaintext held in memory while awaiting authentication."""
    spool_dir: str | None
    """Where larger plaintext waits (an unnamed temporary file)."""
    decrypt_cache_seconds: float
    """How long an unwrapped data key is reused for reads of the objects it unwraps
    (default 60; 0: every read unwraps, e.g. calls KMS Decrypt)."""
    decrypt_cache_entries: int
    """How many unwrapped data keys the client keeps at most (default 1000)."""


@dataclass(frozen=True)
class CryptoConfig:
    """The security-relevant choices of a client. The defaults are the safe ones.

    ``commitment_policy`` left as None follows ``format``: V3 requires key commitment on
    write and read; V2 can only be written under FORBID_ENCRYPT_ALLOW_DECRYPT.
    """

    format: FormatVersion = FormatVersion.V3
    commitment_policy: CommitmentPolicy | None = None
    legacy: bool = False
    """Read legacy unauthenticated modes: AES-CBC content, ``kms``, ``AESWrap``, V1 wraps."""
    delayed_authentication: bool = False
    """Release plaintext before the GCM tag is verified (streams, but trusts early bytes)."""
    unauthenticated_ranges: bool = False
    """Allow ``get_object(Range=...)`` on AES-GCM objects without an integrity index: the
    bytes cannot be checked against the tag, which covers the whole object. Objects with
    an index are always read through it, and verified."""
    integrity_index: bool = False
    """Also write ``KEY.s3cse-index`` so byte ranges can be authenticated (``integrity``)."""
    indexed_streaming: bool = False
    """``get_object`` of an object with an integrity index hands back a body that streams,
    releasing each 256 KiB chunk once its index entry verifies (``core.indexed``), instead
    of authenticating the whole object first. Off by default: it costs every GET one
    more request, for the index header. Downloads to a FIFO, a device or a file object
    always stream this way when the object has an index."""
    instruction_file: bool = False
    """Store the wrapped key in ``KEY.instruction`` instead of the object metadata."""
    spool_threshold: int = DEFAULT_SPOOL_THRESHOLD
    """Plaintext held in memory while it awaits authentication; more goes to a temp file."""
    spool_dir: str | None = None
    decrypt_cache_seconds: float = DEFAULT_DECRYPT_CACHE_SECONDS
    """Reads reuse an unwrapped data key for this long after its unwrap: an object read
    again (ranges, a file opened twice) costs no further KMS Decrypt or RSA decryption.
    The trade-off (docs/threat-model.md): the key stays in memory that long, a KMS key
    disabled or a grant revoked stops these reads only once it has passed, CloudTrail
    logs fewer Decrypts. 0 turns the cache off."""
    decrypt_cache_entries: int = 1000
    """At most this many unwrapped data keys are kept (the least recently used go)."""

    def __post_init__(self) -> None:
        fmt = self.format
        if not isinstance(fmt, FormatVersion):
            try:
                fmt = FormatVersion.parse(fmt)
            except ValueError as exc:
                raise ConfigurationError(str(exc)) from None
            object.__setattr__(self, "format", fmt)
        if fmt is FormatVersion.V1:
            raise ConfigurationError("format v1 (AES-CBC) is read-only; write v3 or v2")
        policy = self.commitment_policy
        if policy is not None and not isinstance(policy, CommitmentPolicy):
            try:
                policy = CommitmentPolicy(str(policy).upper())
            except ValueError:
                names = ", ".join(p.value for p in CommitmentPolicy)
                raise ConfigurationError(
                    f"unknown commitment policy {policy!r}: choose one of {names}"
                ) from None
            object.__setattr__(self, "commitment_policy", policy)
        policy = self.policy
        if policy.encrypt_requires_commitment and fmt is not FormatVersion.V3:
            raise ConfigurationError(
                f"commitment policy {policy.value} requires writing format v3",
                hint="To write v2, leave the commitment policy to its default or use "
                "FORBID_ENCRYPT_ALLOW_DECRYPT (on the command line: --format v2 "
                "without --commitment-policy)",
            )
        if not policy.encrypt_requires_commitment and fmt is FormatVersion.V3:
            raise ConfigurationError(
                "commitment policy FORBID_ENCRYPT_ALLOW_DECRYPT forbids format v3 (it writes v2)",
                hint='Write format="v2" (on the command line: --format v2), or choose '
                "another policy",
            )
        if self.spool_threshold < 0:
            raise ConfigurationError("spool_threshold must be >= 0")
        if not self.decrypt_cache_seconds >= 0 or self.decrypt_cache_entries < 0:
            raise ConfigurationError(
                "decrypt_cache_seconds and decrypt_cache_entries must be >= 0 (0: no cache)"
            )

    @property
    def policy(self) -> CommitmentPolicy:
        """The commitment policy in force: the one given, or the format's default."""
        if self.commitment_policy is not None:
            return self.commitment_policy
        if self.format is FormatVersion.V3:
            return CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
        return CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT

    @property
    def write_suite(self) -> AlgorithmSuite:
        return write_suite(self.format)

    @property
    def instruction_suffix(self) -> str:
        return DEFAULT_INSTRUCTION_SUFFIX

    def with_changes(self, **changes: object) -> CryptoConfig:
        """A copy with ``changes``; a name that is not an option is a ``TypeError`` that
        lists the valid ones."""
        valid = [f.name for f in fields(self)]
        unknown = sorted(set(changes) - set(valid))
        if unknown:
            raise TypeError(
                f"unknown option(s) {', '.join(unknown)}; the options are: {', '.join(valid)}"
            )
        return replace(self, **changes)  # type: ignore[arg-type]
