"""``s3cse mb`` and ``s3cse rb``: make and remove buckets, as ``aws s3`` does; ``rb
--force`` empties the bucket first with ``rm``'s deletion, sidecars included."""

from __future__ import annotations

import ipaddress
import re
import sys
from typing import Any

import click

from ..client import translate_s3_error
from ..errors import ConfigurationError, S3CSEError, S3RequestError
from .clients import s3_client
from .exits import EXIT_FAILED
from .objects import S3Url, s3_errors
from .options import aws_options, dryrun_option, endpoint_option, quiet_option
from .output import display_key
from .rm import delete_recursive

# S3's rules for general purpose bucket names (checked here so that a bad name is told
# why before any request; S3 itself only answers InvalidBucketName).
_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def check_bucket_name(name: str) -> None:
    """Raise ``ConfigurationError`` saying which naming rule ``name`` breaks."""
    if not _NAME.fullmatch(name):
        raise ConfigurationError(
            f"invalid bucket name {name!r}: 3 to 63 characters, lowercase letters, digits, "
            "dots and hyphens, beginning and ending with a letter or digit"
        )
    if ".." in name:
        raise ConfigurationError(f"invalid bucket name {name!r}: two dots in a row")
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        pass
    else:
        raise ConfigurationError(f"invalid bucket name {name!r}: formatted as an IP address")
    if name.startswith(_RESERVED_PREFIXES) or name.endswith(_RESERVED_SUFFIXES):
        raise ConfigurationError(f"invalid bucket name {name!r}: the prefix or suffix is reserved")


def _bucket_url(url: str, command: str) -> str:
    named = url.startswith("s3://") and url[5:6] not in ("", "/")
    target = S3Url.parse(url) if named else None
    if target is None:
        raise ConfigurationError(f"{command} takes s3://BUCKET, not {url!r}")
    if target.key:
        raise ConfigurationError(f"{command} takes a bucket only, not a key: s3://{target.bucket}")
    return target.bucket


@click.command()
@click.argument("url", metavar="s3://BUCKET")
@dryrun_option("Check the name and print the bucket that would be made; make nothing.")
@quiet_option()
@endpoint_option
@aws_options
def mb(
    url: str,
    dry_run: bool,
    quiet: bool,
    endpoint_url: str | None,
    region: str | None,
    profile: str | None,
) -> None:
    """Make a bucket, in --region (or the configured region). Needs no key."""
    bucket = _bucket_url(url, "mb")
    check_bucket_name(bucket)
    if dry_run:
        if not quiet:
            click.echo(display_key(f"(dryrun) make_bucket: {bucket}"))
        return
    s3 = s3_client(endpoint_url, profile, region)
    args: dict[str, Any] = {"Bucket": bucket}
    # us-east-1 is the default location; S3 refuses it named as a LocationConstraint
    where = s3.meta.region_name
    if where and where != "us-east-1":
        args["CreateBucketConfiguration"] = {"LocationConstraint": where}
    try:
        s3.create_bucket(**args)
    except s3_errors() as exc:
        raise _make_bucket_error(exc, bucket) from None
    if not quiet:
        click.echo(display_key(f"make_bucket: {bucket}"))


def _code(exc: Exception) -> str:
    """The error code of S3's answer ("" when S3 did not answer)."""
    return str((getattr(exc, "response", None) or {}).get("Error", {}).get("Code", ""))


def _make_bucket_error(exc: Exception, bucket: str) -> S3CSEError:
    code = _code(exc)
    if code == "BucketAlreadyOwnedByYou":
        return S3RequestError(f"make_bucket failed: you already own the bucket {bucket}")
    if code == "BucketAlreadyExists":
        return S3RequestError(
            f"make_bucket failed: the name {bucket} is taken by another account",
            hint="Bucket names are shared by all AWS accounts: choose another name",
        )
    return translate_s3_error(exc, bucket, "", "make_bucket")


@click.command()
@click.argument("url", metavar="s3://BUCKET")
@click.option(
    "--force",
    is_flag=True,
    help="First delete every object in the bucket, with its instruction file and integrity index.",
)
@dryrun_option("Print what would be deleted; delete nothing.")
@quiet_option()
@endpoint_option
@aws_options
def rb(
    url: str,
    force: bool,
    dry_run: bool,
    quiet: bool,
    endpoint_url: str | None,
    region: str | None,
    profile: str | None,
) -> None:
    """Remove a bucket. Needs no key.

    A bucket that holds objects is refused unless --force, which deletes them (and
    their sidecars) first. A versioned bucket that holds any version or delete marker is
    refused, --force or not, before anything is deleted: deleting its objects would
    only add delete markers, and S3 removes no bucket that holds versions."""
    bucket = _bucket_url(url, "rb")
    s3 = s3_client(endpoint_url, profile, region)
    _refuse_versions(s3, bucket)
    if _holds_objects(s3, bucket):
        if not force:
            raise ConfigurationError(
                f"s3://{bucket} is not empty",
                hint="Pass --force to delete every object in it (with their instruction "
                "files and integrity indexes), then the bucket",
            )
        say = _silent if quiet else click.echo
        failures = delete_recursive(s3, bucket, "", dry_run=dry_run, say=say)
        if failures:
            click.echo(
                f"s3cse: error: {len(failures)} deletions failed: the bucket {bucket} is kept",
                err=True,
            )
            sys.exit(EXIT_FAILED)
    if not dry_run:
        try:
            s3.delete_bucket(Bucket=bucket)
        except s3_errors() as exc:
            raise translate_s3_error(exc, bucket, "", "remove_bucket") from None
    if not quiet:
        click.echo(display_key(f"{'(dryrun) ' if dry_run else ''}remove_bucket: {bucket}"))


def _silent(line: str) -> None:
    pass


def _holds_objects(s3: Any, bucket: str) -> bool:
    # checked here, not left to S3: some S3 servers (SeaweedFS) remove a non-empty bucket
    try:
        page = s3.list_objects_v2(Bucket=bucket, MaxKeys=1)
    except s3_errors() as exc:
        raise translate_s3_error(exc, bucket, "", "list") from None
    return bool(page.get("Contents"))


def _refuse_versions(s3: Any, bucket: str) -> None:
    """A bucket with versioning (enabled or suspended) that holds versions or delete
    markers cannot be removed by deleting its objects: say so before deleting any."""
    try:
        status = s3.get_bucket_versioning(Bucket=bucket).get("Status")
        if status not in ("Enabled", "Suspended"):
            return
        page = s3.list_object_versions(Bucket=bucket, MaxKeys=1)
    except s3_errors() as exc:
        if _code(exc) == "NotImplemented":
            return  # a server without versioning
        raise translate_s3_error(exc, bucket, "", "list") from None
    if page.get("Versions") or page.get("DeleteMarkers"):
        raise S3CSEError(
            f"s3://{bucket} has versioning {status.lower()} and holds object versions or "
            "delete markers: S3 removes no bucket that holds any, and deleting its "
            "objects (--force) would only add delete markers; nothing was deleted",
            hint="Delete every version and delete marker first (aws s3api "
            "delete-objects with their VersionId, or a lifecycle rule that expires them), "
            "then run rb again",
        )
