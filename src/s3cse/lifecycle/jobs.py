"""What a lifecycle run is given (``Job``) and what it reports (``ObjectResult``,
``Summary``): plain, picklable data, so that Dask workers can take it."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.config import CryptoConfig
from ..core.suites import CommitmentPolicy
from ..errors import ConfigurationError, S3CSEError
from ..io import awsenv
from ..io.s3api import S3Client
from ..keyrings.specs import KeySpec

TEMP_SUFFIX = ".s3cse-migrating"


@dataclass(frozen=True)
class Job:
    kind: str
    """``rotate`` or ``migrate``."""
    bucket: str
    prefix: str
    keys: KeySpec
    """The master keys the objects are under now."""
    target: KeySpec | None = None
    """Rotate: the new master key. Migrate: the key to write V3 with (default: ``keys``)."""
    encryption_context: tuple[tuple[str, str], ...] = ()
    """The KMS context the objects carry now: a KMS-wrapped object whose stored context
    differs is refused, never read under another one."""
    legacy: bool = False
    """Read legacy unauthenticated modes (CBC content, ``kms``, ``AESWrap``, V1 wraps):
    only when asked, since what such objects hold cannot be authenticated."""
    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    dry_run: bool = False
    target_context: tuple[tuple[str, str], ...] | None = None
    """The KMS context to write the objects with; None carries the current one over."""

    def __post_init__(self) -> None:
        if self.kind not in ("rotate", "migrate"):
            raise ConfigurationError(f"unknown job {self.kind!r}")
        if self.kind == "rotate" and self.target is None:
            raise ConfigurationError("rotate needs the new master key (--to-...)")

    @property
    def context(self) -> dict[str, str]:
        return dict(self.encryption_context)

    @property
    def new_context(self) -> dict[str, str]:
        """What the rewritten objects are bound to: the current context unless told."""
        if self.target_context is None:
            return self.context
        return dict(self.target_context)

    def s3(self) -> S3Client:
        client: S3Client = awsenv.client(
            "s3", endpoint_url=self.endpoint_url, profile=self.profile, region=self.region
        )
        return client

    def reader_config(self) -> CryptoConfig:
        return CryptoConfig(
            legacy=self.legacy, commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT
        )


@dataclass(frozen=True)
class ObjectResult:
    key: str
    action: str
    """rotated, migrated, skipped, would-rotate, would-migrate or failed."""
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.action == "failed"


@dataclass
class Summary:
    results: list[ObjectResult] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for result in self.results:
            out[result.action] = out.get(result.action, 0) + 1
        return out

    @property
    def failed(self) -> list[ObjectResult]:
        return [r for r in self.results if r.failed]


def failed(job: Job, key: str, error: S3CSEError) -> ObjectResult:
    """A failure whose detail names the object, as every error line does."""
    return ObjectResult(key, "failed", str(error.locate(job.bucket, key)))
