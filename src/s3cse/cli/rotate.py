"""``s3cse rotate`` and ``s3cse migrate``: the lifecycle jobs (``s3cse.lifecycle``) over
every object under a prefix, on threads or a Dask cluster, with a line (or a bar) per
object and a summary."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

import click

from .. import lifecycle
from ..client import translate_s3_error
from ..errors import ConfigurationError, S3RequestError, located
from ..keyrings.specs import KeySpec
from ..lifecycle import Job, list_keys
from .clients import CLI_KEY_FILES, CLI_TARGET_KEY_FILES, kms_client
from .exits import EXIT_FAILED, error_line
from .objects import S3Url, s3_errors
from .options import (
    F,
    add_options,
    aws_option_list,
    concurrency_option,
    dryrun_option,
    endpoint_option,
    kms_endpoint_option,
    parse_context,
    parse_matdesc,
    parse_target_context,
    quiet_option,
    target_key_chosen,
    target_key_option_list,
)
from .output import display_key, live_progress, shows_progress


def lifecycle_options(kind: str) -> Callable[[F], F]:
    now = "the objects are under now"
    target = (
        "the new master key"
        if kind == "rotate"
        else "the key to write V3 with (default: the current key)"
    )
    return lambda func: add_options(
        func,
        [
            click.option("--kms-key-id", help=f"KMS key {now} (id, ARN or alias)."),
            click.option(
                "--kms-discovery",
                is_flag=True,
                help="Read with whichever KMS key wrapped each object's data key, if "
                "--kms-allow allows it.",
            ),
            click.option(
                "--kms-allow",
                multiple=True,
                metavar="ARN|account:ID",
                help="KMS key ARN or account:ACCOUNT_ID --kms-discovery may use (repeatable).",
            ),
            click.option(
                "--aes-key-file", type=click.Path(dir_okay=False), help=f"AES key file {now}."
            ),
            click.option(
                "--rsa-key-file",
                type=click.Path(dir_okay=False),
                help=f"RSA private key (PEM) {now}.",
            ),
            click.option(
                "--matdesc", help="Material description (JSON) of the current AES/RSA key."
            ),
            click.option(
                "--encryption-context",
                "encryption_context",
                multiple=True,
                metavar="KEY=VALUE",
                help="KMS encryption context the objects carry now (repeatable); a KMS "
                "object whose stored context differs is refused.",
            ),
            click.option(
                "--legacy",
                is_flag=True,
                help="Also read legacy unauthenticated modes (CBC, kms, AESWrap, V1): "
                "only for objects whose origin you trust.",
            ),
            *target_key_option_list(
                target,
                " Give the private key, so that a rerun recognises the objects already done.",
            ),
            dryrun_option("Report what would change; change nothing."),
            click.option(
                "--json",
                "as_json",
                is_flag=True,
                help="One JSON object per object on stdout, then a summary line.",
            ),
            concurrency_option("Objects processed at once (threads)."),
            click.option(
                "--dask",
                "dask_address",
                metavar="SCHEDULER_ADDRESS",
                help="Run on a Dask cluster instead (needs the distributed package; "
                "workers need the key files at the same paths).",
            ),
            quiet_option("Print only failures."),
            endpoint_option,
            kms_endpoint_option,
            *aws_option_list(),
        ],
    )


@click.command()
@click.argument("url")
@lifecycle_options("rotate")
def rotate(url: str, **kwargs: Any) -> None:
    """Re-wrap every object's data key under s3://BUCKET/PREFIX with a new master key.

    The content is not re-encrypted: the instruction file is rewritten, or the object is
    copied onto itself with new encryption metadata (user metadata, content type, tags,
    SSE-S3/SSE-KMS settings and storage class kept; guarded against concurrent writers).
    Objects already under the new key are skipped, so a second run finishes what an
    interrupted one left; legacy objects are skipped too (use migrate). A KMS object is
    rotated only if its stored encryption context is the one given (--encryption-context),
    and keeps it unless --to-encryption-context says otherwise. Objects whose data key has
    a legacy wrap need --legacy, and are read through their tag check before re-wrapping.
    """
    _lifecycle("rotate", url, kwargs)


@click.command()
@click.argument("url")
@lifecycle_options("migrate")
def migrate(url: str, **kwargs: Any) -> None:
    """Re-encrypt legacy objects under s3://BUCKET/PREFIX (V1, V2, AES-CBC, legacy key
    wraps) as V3.

    Each new ciphertext goes to KEY.s3cse-migrating, is read back and compared by SHA-256
    with the old plaintext, and only then copied over the object (a versioned bucket keeps
    the old version). V3 objects are skipped; an interrupted run is finished by the next.
    V2 GCM objects need no switch; CBC content and legacy key wraps need --legacy. A KMS
    object is read only under the encryption context it stores (--encryption-context), and
    the V3 copy carries that context unless --to-encryption-context says otherwise.
    """
    _lifecycle("migrate", url, kwargs)


def _lifecycle(kind: str, url: str, kw: dict[str, Any]) -> None:
    job = _build_job(kind, url, kw)
    dask_address, quiet, as_json = kw["dask_address"], kw["quiet"], kw["as_json"]
    if dask_address:
        import importlib.util

        if importlib.util.find_spec("distributed") is None:
            raise ConfigurationError(
                "--dask needs the distributed package (pip install distributed)"
            )
        _check_scheduler(dask_address)
    total: int | None = None
    if shows_progress(quiet):
        total = sum(1 for _ in _lifecycle_keys(job))
    label = f"{kind} s3://{job.bucket}/{job.prefix}"
    with live_progress(label, total, quiet, counting=True) as (advance, echo):

        def on_result(result: Any) -> None:
            if as_json:
                echo(
                    json.dumps(
                        {"key": result.key, "action": result.action, "detail": result.detail}
                    )
                )
            url = f"s3://{job.bucket}/{result.key}"
            if result.failed:  # the detail names the object
                echo(error_line(result.detail), err=True)
            elif advance is None and not quiet:  # no bar: a line per object
                detail = f" ({result.detail})" if result.detail else ""
                echo(display_key(f"{result.action}: {url}{detail}"), err=True)
            if advance is not None:
                advance(1)

        try:
            summary = lifecycle.run(
                job, concurrency=kw["concurrency"], dask_address=dask_address, on_result=on_result
            )
        except s3_errors() as exc:
            raise translate_s3_error(exc, job.bucket, job.prefix, "list") from None
        except (OSError, TimeoutError) as exc:
            if not dask_address:
                raise
            raise S3RequestError(
                f"cannot reach the Dask scheduler at {dask_address}: {exc}"
            ) from None
    counts = summary.counts()
    failed = len(summary.failed)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "summary": counts,
                    "total": len(summary.results),
                    "failed": failed,
                    "dry_run": job.dry_run,
                }
            )
        )
    if not quiet:
        parts = ", ".join(f"{n} {action}" for action, n in sorted(counts.items())) or "nothing"
        dry = " (dry run)" if job.dry_run else ""
        click.echo(
            display_key(
                f"{kind}{dry}: {parts} ({len(summary.results)} objects "
                f"under s3://{job.bucket}/{job.prefix})"
            ),
            err=True,
        )
    if failed:
        click.echo(f"s3cse: error: {failed} of {len(summary.results)} objects failed", err=True)
        sys.exit(EXIT_FAILED)


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
        kms_discovery=False if prefix else kw["kms_discovery"],
        kms_allow=() if prefix else tuple(kw["kms_allow"]),
    )


def _build_job(kind: str, url: str, kw: dict[str, Any]) -> Job:
    """The job the options ask for, its keys, endpoints and contexts resolved and checked
    once, here: a bad key file is one usage error, not a failure per object, and Dask
    workers elsewhere use the same settings."""
    location = S3Url.parse(url)
    if location is None:
        raise ConfigurationError(f"{kind} takes s3://BUCKET[/PREFIX], not {url!r}")
    # Resolved here, not by each worker: a Dask worker elsewhere must use the same ones.
    endpoint = _endpoint(kw["endpoint_url"], "S3")
    kms_endpoint = _endpoint(kw["kms_endpoint_url"], "KMS")
    if not (kw["kms_key_id"] or kw["kms_discovery"] or kw["aes_key_file"] or kw["rsa_key_file"]):
        raise ConfigurationError(
            f"no key given: pass the key the objects are under now (--kms-key-id, "
            f"--aes-key-file or --rsa-key-file){'' if kind == 'migrate' else ' and the new one'}"
        )
    current = _key_spec(kw, "", kms_endpoint)
    chosen = target_key_chosen(
        kw["to_kms_key_id"], kw["to_aes_key_file"], kw["to_rsa_key_file"], kw["to_matdesc"]
    )
    if not chosen and kind == "rotate":
        raise ConfigurationError(
            "rotate needs the new master key: --to-kms-key-id, --to-aes-key-file or "
            "--to-rsa-key-file"
        )
    target = _key_spec(kw, "to-", kms_endpoint) if chosen else None
    if target is None and kw["kms_discovery"] and not kw["kms_key_id"]:
        raise ConfigurationError(
            "--kms-discovery only reads: name the key to write V3 with (--to-kms-key-id, "
            "--to-aes-key-file or --to-rsa-key-file)"
        )
    # Load every key now: a missing or bad key file (or no region for KMS) is a usage
    # error, not N failures.
    current.keyring(private=True)
    if target is not None:
        target.keyring()
    if current.kms or (target is not None and target.kms):
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
        target_context=parse_target_context(
            kw["to_encryption_context"], kw["to_empty_encryption_context"]
        ),
    )


def _endpoint(given: str | None, service: str) -> str | None:
    """The endpoint option, else the one the AWS environment variables name."""
    return (
        given or os.environ.get(f"AWS_ENDPOINT_URL_{service}") or os.environ.get("AWS_ENDPOINT_URL")
    )


def _check_scheduler(address: str) -> None:
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


def _lifecycle_keys(job: Job) -> Iterator[str]:
    try:
        yield from list_keys(job)
    except s3_errors() as exc:
        raise translate_s3_error(exc, job.bucket, job.prefix, "list") from None
