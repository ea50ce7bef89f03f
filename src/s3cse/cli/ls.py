"""``s3cse ls``: buckets, or the objects under a prefix with plaintext sizes, their
sidecars hidden; with ``--exact`` how each one is encrypted."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import click

from ..core import listing
from ..core.listing import assumed_plaintext_size
from ..errors import ConfigurationError, S3CSEError, S3RequestError
from ..io import awsenv
from .bulk import worker_pool
from .clients import s3_client
from .exits import EXIT_FAILED, bulk_exit_code, error_line
from .keyused import KeyUse
from .objects import S3Url, exact_info, s3_errors, with_sidecars
from .options import (
    Sse,
    aws_options,
    concurrency_option,
    endpoint_option,
    key_use_options,
    sse_c_hints,
    sse_options,
)
from .output import (
    echo_bucket,
    echo_prefix,
    echo_row,
    echo_summary,
    format_text,
    wrapping_text,
)


@click.command("ls")
@click.argument("url", required=False, default="s3://")
@click.option("--recursive", "-r", is_flag=True, help="List every key under the prefix.")
@click.option(
    "--exact", is_flag=True, help="HEAD each object: exact plaintext size, format and wrapping."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option(
    "--human-readable", "human", is_flag=True, help="Sizes in Bytes, KiB, MiB, GiB... (base 1024)."
)
@click.option(
    "--summarize", is_flag=True, help="End with the number of objects and their total size."
)
@concurrency_option("HEAD requests at once with --exact.")
@sse_options()
@key_use_options
@endpoint_option
@aws_options
def ls(
    url: str,
    recursive: bool,
    exact: bool,
    as_json: bool,
    human: bool,
    summarize: bool,
    concurrency: int,
    endpoint_url: str | None,
    region: str | None,
    profile: str | None,
    **kwargs: Any,
) -> None:
    """List buckets, or objects under s3://BUCKET[/PREFIX], with plaintext sizes.

    Columns: date, plaintext size, then with --exact the format and the wrapping
    (algorithm and material description, or the KMS encryption context's keys), then the
    key. Without --exact a size is the stored size minus the 16-byte GCM tag (no extra
    request); legacy AES-CBC objects and unencrypted ones may differ. Instruction files
    and integrity indexes are not shown. Needs no key.

    With --exact and a key (--kms-discovery with --kms-allow, --kms-key-id, a key file),
    each object's data key is also unwrapped and the key that did is shown ("key:" in
    the wrapping column, "key_used" in JSON); no content is read.

    --summarize ends with the number of objects listed and their total plaintext size
    (with --json one line: total_objects, total_size, total_size_upper_bound).
    """
    sse = Sse.from_options(kwargs)
    use = KeyUse.from_options(kwargs, region, profile)
    if use is not None and not exact:
        raise ConfigurationError(
            "ls names the key that unwraps each object with --exact only: add --exact"
        )
    s3 = s3_client(endpoint_url, profile, region)
    if url in ("s3://", "s3:", ""):
        _list_buckets(s3, as_json)
        return
    target = S3Url.parse(url)
    if target is None:
        raise ConfigurationError(f"ls takes s3://BUCKET[/PREFIX], not {url!r}")
    base = "" if recursive else target.key[: target.key.rfind("/") + 1]
    entries = listing.visible(
        with_sidecars(s3, target.bucket, target.key, delimiter=not recursive, sse_c=sse.get_args())
    )
    totals = _Totals()
    failures: list[S3CSEError] = []
    shown = 0
    if not exact:
        for entry in entries:
            shown += 1
            if "Prefix" in entry:
                echo_prefix(entry["Prefix"], base, as_json)
                continue
            row = {"key": entry["Key"], "last_modified": entry.get("LastModified")}
            row.update(_listed_size(entry))
            totals.add(row)
            echo_row(row, base, as_json, None, human=human)
    else:
        rows, failures = _ls_exact(s3, target.bucket, entries, sse, concurrency, use)
        shown = len(rows)
        _echo_exact(rows, base, as_json, human, totals)
        for exc in failures:
            click.echo(error_line(exc), err=True)
    if summarize:
        echo_summary(totals.objects, totals.size, totals.upper_bound, human=human, as_json=as_json)
    if failures:
        sys.exit(bulk_exit_code(failures))
    if target.key and not shown:
        # as ``aws s3 ls``: nothing under a prefix given is a failure, silently, so that
        # ``if s3cse ls s3://B/KEY`` tests whether KEY is there
        sys.exit(EXIT_FAILED)


def _list_buckets(s3: Any, as_json: bool) -> None:
    try:
        buckets = s3.list_buckets().get("Buckets", [])
    except s3_errors() as exc:
        reason = awsenv.unreachable(exc, "s3")
        raise S3RequestError(
            f"list of buckets failed: {reason[0] if reason else exc}",
            hint=reason[1] if reason else None,
        ) from None
    for bucket in buckets:
        echo_bucket(bucket, as_json)


@dataclass
class _Totals:
    """What ``--summarize`` prints: objects listed, and their plaintext sizes summed."""

    objects: int = 0
    size: int = 0
    upper_bound: bool = False

    def add(self, row: dict[str, Any]) -> None:
        self.objects += 1
        self.size += row["size"]
        self.upper_bound = self.upper_bound or row["size_source"] == "cbc-upper-bound"


def _ls_exact(
    s3: Any,
    bucket: str,
    entries: Iterable[dict[str, Any]],
    sse: Sse,
    concurrency: int,
    use: KeyUse | None = None,
) -> tuple[list[dict[str, Any]], list[S3CSEError]]:
    """The listed entries with each object's HEAD (``exact_info``), and what failed."""
    listed = list(entries)
    failures: list[S3CSEError] = []
    sse_c = sse.get_args()

    def resolve(entry: dict[str, Any]) -> dict[str, Any]:
        if "Prefix" in entry:
            return entry
        row = {"key": entry["Key"], "last_modified": entry.get("LastModified")}
        try:
            with sse_c_hints(sse):
                row.update(exact_info(s3, bucket, entry["Key"], sse_c, use))
        except S3CSEError as exc:
            row.update({**_listed_size(entry), "format": "?", "error": str(exc)})
            failures.append(exc)
        return row

    with worker_pool(concurrency) as pool:
        rows = list(pool.map(resolve, listed))
    return rows, failures


def _echo_exact(
    rows: list[dict[str, Any]], base: str, as_json: bool, human: bool, totals: _Totals
) -> None:
    objects = [row for row in rows if "key" in row]
    widths = (
        max([len(format_text(r)) for r in objects], default=1),
        max([len(wrapping_text(r)) for r in objects], default=1),
    )
    for row in rows:
        if "Prefix" in row:
            echo_prefix(row["Prefix"], base, as_json)
        else:
            totals.add(row)
            echo_row(row, base, as_json, widths, human=human)


def _listed_size(entry: dict[str, Any]) -> dict[str, Any]:
    """A listed object's size as the listing implies it (``assumed_plaintext_size``)."""
    stored = listing.stored_size(entry)
    size, source = assumed_plaintext_size(stored)
    return {"size": size, "stored_size": stored, "size_source": source}
