"""``s3cse rm``: delete objects with their sidecars; refuse to delete alone a sidecar
its object needs."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from typing import Any

import click

from ..client import fetch_content_metadata, probe_sidecar, translate_s3_error
from ..core import listing, sidecars
from ..core.sidecars import INSTRUCTION_SUFFIX
from ..errors import ConfigurationError, ObjectNotFoundError, S3CSEError, S3RequestError
from .clients import keyless_client, s3_client
from .exits import EXIT_FAILED, error_line
from .filters import FilteredCommand, PathFilter, filter_options
from .objects import S3Url, prefix_hint, refuse_prefix, s3_errors, with_sidecars
from .options import aws_options, dryrun_option, endpoint_option, quiet_option
from .output import display_key

# S3 deletes at most 1000 keys per request.
_DELETE_BATCH = 1000


@click.command(cls=FilteredCommand)
@click.argument("url")
@click.option("--recursive", "-r", is_flag=True, help="Delete everything under the prefix.")
@filter_options
@dryrun_option("Print what would be deleted; delete nothing.")
@click.option(
    "--force",
    is_flag=True,
    help="Delete an instruction file or integrity index that its object needs.",
)
@quiet_option()
@endpoint_option
@aws_options
def rm(
    url: str,
    recursive: bool,
    dry_run: bool,
    force: bool,
    quiet: bool,
    endpoint_url: str | None,
    region: str | None,
    profile: str | None,
) -> None:
    """Delete an object, or everything under a prefix, with their instruction files and
    integrity indexes. Needs no key.

    Deleting an object's instruction file or integrity index alone is refused without
    --force (its object needs it); a user's object that is only named like one is
    deleted as any other."""
    target = S3Url.parse(url)
    if target is None:
        raise ConfigurationError(f"rm takes s3://BUCKET/KEY, not {url!r}")
    s3 = s3_client(endpoint_url, profile, region)
    client = keyless_client(s3)
    say = (lambda line: None) if quiet else click.echo
    prefix = "(dryrun) " if dry_run else ""
    if not recursive:
        refuse_prefix(target, "delete")
        with prefix_hint(s3, target, "delete"):
            if not _object_exists(s3, target):
                raise ObjectNotFoundError(
                    "delete: no such object", bucket=target.bucket, key=target.key
                )
        if not force:
            _refuse_live_sidecar(s3, target)
        if not dry_run:
            client.delete_object(Bucket=target.bucket, Key=target.key)
        say(display_key(f"{prefix}delete: {target}"))
        return
    failures = delete_recursive(
        s3,
        target.bucket,
        listing.dir_prefix(target.key),
        dry_run=dry_run,
        say=say,
        keep=PathFilter.from_context(),
    )
    if failures:
        click.echo(f"s3cse: error: {len(failures)} deletions failed", err=True)
        sys.exit(EXIT_FAILED)


def delete_recursive(
    s3: Any,
    bucket: str,
    prefix: str,
    *,
    dry_run: bool,
    say: Callable[[str], None],
    keep: PathFilter | None = None,
) -> list[S3CSEError]:
    """Delete everything under ``prefix`` (the whole bucket for "") that the filters
    ``keep``, sidecars with their objects; each object deleted is told to ``say``
    (sidecars are not, as ``ls`` does not show them), each failure printed. Returns the
    failures."""
    listed = _kept(
        [(e["Key"], sidecar) for e, sidecar in with_sidecars(s3, bucket, prefix) if "Key" in e],
        prefix,
        keep or PathFilter(),
    )
    shown = {key for key, sidecar in listed if not sidecar}
    keys = [key for key, _ in listed]
    done = "(dryrun) delete" if dry_run else "delete"
    failures: list[S3CSEError] = []
    for start in range(0, len(keys), _DELETE_BATCH):
        batch = keys[start : start + _DELETE_BATCH]
        errors: dict[str, dict[str, Any]] = {}
        if not dry_run:
            try:
                response = s3.delete_objects(
                    Bucket=bucket,
                    Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
                )
            except s3_errors() as exc:
                raise translate_s3_error(exc, bucket, batch[0], "delete") from None
            errors = {e.get("Key", ""): e for e in response.get("Errors", [])}
        for key in batch:
            if key not in errors and key in shown:
                say(display_key(f"{done}: s3://{bucket}/{key}"))
        for key, error in errors.items():
            failure = S3RequestError(
                f"delete failed ({error.get('Code', '?')}: {error.get('Message', '')})",
                bucket=bucket,
                key=key,
            )
            failures.append(failure)
            click.echo(error_line(failure), err=True)
    return failures


def _kept(listed: list[tuple[str, bool]], prefix: str, keep: PathFilter) -> list[tuple[str, bool]]:
    """The listed keys whose objects the filters keep (matched on the key below the
    prefix): a sidecar goes with its object, never on its own."""
    if not keep:
        return listed
    kept = {key for key, sidecar in listed if not sidecar and keep.includes(key[len(prefix) :])}
    return [
        (key, sidecar)
        for key, sidecar in listed
        if key in kept or (sidecar and _owner(key) in kept)
    ]


def _owner(sidecar_key: str) -> str | None:
    named = sidecars.split_name(sidecar_key)
    return named[0] if named else None


def _refuse_live_sidecar(s3: Any, url: S3Url) -> None:
    """Refuse to delete, alone, an instruction file or integrity index its object needs
    (see ``_sidecar_owner``)."""
    owner = _sidecar_owner(s3, url)
    if owner is not None:
        suffix = url.key[len(owner) :]
        what = sidecars.describe(suffix)
        raise ConfigurationError(
            f"{url} is the {what} of s3://{url.bucket}/{owner}, which "
            + (
                "cannot be decrypted without it"
                if suffix == INSTRUCTION_SUFFIX
                else "needs it for verified byte ranges"
            ),
            hint=f"Delete s3://{url.bucket}/{owner} to remove both, or pass --force to "
            f"delete the {what} alone",
        )


def _sidecar_owner(s3: Any, url: S3Url) -> str | None:
    """The object whose live sidecar ``url`` is, else None: a user's object named like a
    sidecar, an orphan, an instruction file its object does not read, or an index of an
    earlier version of its object are not live. What cannot be looked at (SSE-C) counts
    as live: deleting it is then left to --force."""
    named = sidecars.split_name(url.key)
    if named is None:
        return None
    owner, suffix = named
    try:
        head = s3.head_object(Bucket=url.bucket, Key=owner)
    except s3_errors() as exc:
        if isinstance(translate_s3_error(exc, url.bucket, owner, "head"), ObjectNotFoundError):
            return None
        return owner
    kind = probe_sidecar(s3, url.bucket, url.key)
    if kind is sidecars.Kind.USER_OBJECT:
        return None
    if kind is not sidecars.Kind.SIDECAR:
        return owner
    metadata = head.get("Metadata", {})
    if suffix == INSTRUCTION_SUFFIX:
        return owner if sidecars.needs_instruction_file(metadata) else None
    return owner if _index_belongs_to(s3, url, owner, metadata) else None


def _index_belongs_to(s3: Any, url: S3Url, owner: str, metadata: dict[str, str]) -> bool:
    """Whether the index at ``url`` names its owner's message id or IV (is not stale)."""
    from ..core.integrity import HEADER_SIZE, SidecarHeader

    try:
        md = fetch_content_metadata(s3, url.bucket, owner, metadata)
        response = s3.get_object(Bucket=url.bucket, Key=url.key, Range=f"bytes=0-{HEADER_SIZE - 1}")
    except S3CSEError:
        return False  # the owner cannot be read as an encrypted object: nothing to verify
    except s3_errors():
        return True  # cannot tell: --force decides
    with contextlib.closing(response["Body"]) as body:
        header = SidecarHeader(body.read(), 0, "")
    return not header.is_stale_for(md)


def _object_exists(s3: Any, url: S3Url) -> bool:
    """By listing, not HEAD: a HEAD of an SSE-C object without its key fails."""
    try:
        page = s3.list_objects_v2(Bucket=url.bucket, Prefix=url.key, MaxKeys=1)
    except s3_errors() as exc:
        raise translate_s3_error(exc, url.bucket, url.key, "delete") from None
    contents = page.get("Contents", [])
    return bool(contents) and contents[0]["Key"] == url.key
