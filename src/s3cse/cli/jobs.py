"""A lifecycle ``Job`` from the options of ``rotate``/``migrate``: keys, endpoints and
contexts resolved and checked once, here, so that a bad key file is one usage error
(not a failure per object) and Dask workers elsewhere use the same settings."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from ..client import translate_s3_error
from ..errors import ConfigurationError, S3RequestError, located
from ..keyrings.specs import KeySpec
from ..lifecycle import Job, list_keys
from .clients import CLI_KEY_FILES, CLI_TARGET_KEY_FILES, kms_client
from .objects import S3Url, s3_errors
from .options import parse_context, parse_matdesc


def _key_spec(kw: dict[str, Any], prefix: str, kms_endpoint_url: str | None) -> KeySpec:
    """The key named by the ``--`` options (the current key) or the ``--to-`` ones."""
    name = prefix.replace("-", "_")
    description = parse_matdesc(kw[f"{name}matdesc"], f"--{prefix}matdesc")
    aes_key_file, rsa_key_file = kw[f"{name}aes_key_file"], kw[f"{name}rsa_key_file"]
    return KeySpec(
        kms_key_id=kw[f"{name}kms_key_id"],
        # absolute, so worker processes started elsewhere find them
        aes_key_file=os.path.abspath(aes_key_file) if aes_key_file else None,
        rsa_key_file=os.path.abspath(rsa_key_file) if rsa_key_file else None,
        matdesc=tuple(sorted((description or {}).items())),
        kms_endpoint_url=kms_endpoint_url,
        region=kw["region"],
        profile=kw["profile"],
        names=CLI_TARGET_KEY_FILES if prefix else CLI_KEY_FILES,
    )


def build_job(kind: str, url: str, kw: dict[str, Any]) -> Job:
    location = S3Url.parse(url)
    if location is None:
        raise ConfigurationError(f"{kind} takes s3://BUCKET[/PREFIX], not {url!r}")
    # Resolved here, not by each worker: a Dask worker elsewhere must use the same ones.
    endpoint = _endpoint(kw["endpoint_url"], "S3")
    kms_endpoint = _endpoint(kw["kms_endpoint_url"], "KMS")
    if not (kw["kms_key_id"] or kw["aes_key_file"] or kw["rsa_key_file"]):
        raise ConfigurationError(
            f"no key given: pass the key the objects are under now (--kms-key-id, "
            f"--aes-key-file or --rsa-key-file){'' if kind == 'migrate' else ' and the new one'}"
        )
    current = _key_spec(kw, "", kms_endpoint)
    chosen = [name for name in ("to_kms_key_id", "to_aes_key_file", "to_rsa_key_file") if kw[name]]
    if len(chosen) > 1:
        raise ConfigurationError(
            "give one new key: --to-kms-key-id, --to-aes-key-file or --to-rsa-key-file"
        )
    if not chosen and kw["to_matdesc"] is not None:
        raise ConfigurationError("--to-matdesc goes with --to-aes-key-file or --to-rsa-key-file")
    if not chosen and kind == "rotate":
        raise ConfigurationError(
            "rotate needs the new master key: --to-kms-key-id, --to-aes-key-file or "
            "--to-rsa-key-file"
        )
    target = _key_spec(kw, "to-", kms_endpoint) if chosen else None
    # Load every key now: a missing or bad key file (or no region for KMS) is a usage
    # error, not N failures.
    current.keyring(private=True)
    if target is not None:
        target.keyring()
    if current.kms_key_id or (target is not None and target.kms_key_id):
        with located(location.bucket, location.key):
            kms_client(kms_endpoint, kw["profile"], kw["region"])
    return Job(
        kind,
        location.bucket,
        location.key,
        current,
        target,
        encryption_context=tuple(sorted(parse_context(kw["encryption_context"]).items())),
        endpoint_url=endpoint,
        region=kw["region"],
        profile=kw["profile"],
        dry_run=kw["dry_run"],
        legacy=kw["legacy"],
        target_context=_target_context(kw),
    )


def _endpoint(given: str | None, service: str) -> str | None:
    """The endpoint option, else the one the AWS environment variables name."""
    return (
        given or os.environ.get(f"AWS_ENDPOINT_URL_{service}") or os.environ.get("AWS_ENDPOINT_URL")
    )


def _target_context(kw: dict[str, Any]) -> tuple[tuple[str, str], ...] | None:
    """None carries the objects' current context over to the rewritten ones."""
    given = kw["to_encryption_context"]
    if kw["to_empty_encryption_context"]:
        if given:
            raise ConfigurationError(
                "--to-empty-encryption-context and --to-encryption-context exclude each other"
            )
        return ()
    return tuple(sorted(parse_context(given).items())) if given else None


def check_scheduler(address: str) -> None:
    """Fail in seconds, not after Dask's 30-second connect timeout, when nothing listens
    at a tcp:// scheduler address."""
    import socket
    from urllib.parse import urlsplit

    if "://" not in address:
        address = f"tcp://{address}"
    parts = urlsplit(address)
    if parts.scheme != "tcp" or not parts.hostname or not parts.port:
        return
    try:
        socket.create_connection((parts.hostname, parts.port), timeout=5).close()
    except OSError as exc:
        raise S3RequestError(
            f"cannot reach the Dask scheduler at {address}: {exc.strerror or exc}",
            hint="Check --dask: it takes the scheduler's address, e.g. tcp://host:8786",
        ) from None


def lifecycle_keys(job: Job) -> Iterator[str]:
    try:
        yield from list_keys(job)
    except s3_errors() as exc:
        raise translate_s3_error(exc, job.bucket, job.prefix, "list") from None
