"""``s3cse rotate`` and ``s3cse migrate``: the lifecycle jobs (``s3cse.lifecycle``) over
every object under a prefix, on threads or a Dask cluster, with a line (or a bar) per
object and a summary."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import click

from .. import lifecycle
from ..client import translate_s3_error
from ..errors import ConfigurationError, S3RequestError
from .exits import EXIT_FAILED, error_line
from .jobs import build_job, check_scheduler, lifecycle_keys
from .objects import s3_errors
from .options import (
    F,
    add_options,
    aws_option_list,
    concurrency_option,
    endpoint_option,
    kms_endpoint_option,
    quiet_option,
)
from .output import count_progress, display_key, shows_progress


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
            click.option(
                "--to-encryption-context",
                "to_encryption_context",
                multiple=True,
                metavar="KEY=VALUE",
                help="KMS encryption context to write with (repeatable; default: the "
                "current one, carried over).",
            ),
            click.option(
                "--to-empty-encryption-context",
                is_flag=True,
                help="Write with no encryption context of the caller's.",
            ),
            click.option("--to-kms-key-id", help=f"KMS key: {target}."),
            click.option(
                "--to-aes-key-file",
                type=click.Path(dir_okay=False),
                help=f"AES key file: {target}.",
            ),
            click.option(
                "--to-rsa-key-file",
                type=click.Path(dir_okay=False),
                help=f"RSA key (PEM): {target}. Give the private key, so that a rerun "
                "recognises the objects already done.",
            ),
            click.option(
                "--to-matdesc", help="Material description (JSON) of the --to- AES/RSA key."
            ),
            click.option(
                "--dry-run", is_flag=True, help="Report what would change; change nothing."
            ),
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
    job = build_job(kind, url, kw)
    dask_address, quiet, as_json = kw["dask_address"], kw["quiet"], kw["as_json"]
    if dask_address:
        import importlib.util

        if importlib.util.find_spec("distributed") is None:
            raise ConfigurationError(
                "--dask needs the distributed package (pip install distributed)"
            )
        check_scheduler(dask_address)
    total: int | None = None
    if shows_progress(quiet):
        total = sum(1 for _ in lifecycle_keys(job))
    label = f"{kind} s3://{job.bucket}/{job.prefix}"
    with count_progress(label, total, quiet) as (advance, echo):

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
                advance()

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
