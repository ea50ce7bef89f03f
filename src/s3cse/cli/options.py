"""The option groups commands share: keys, formats, read policy, AWS account and
endpoints, server-side encryption (SSE-S3, SSE-KMS, SSE-C). Each command takes them as
keyword arguments; ``from_options`` (``clients.KeyOptions``, ``Sse``) takes them back."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click

from ..errors import ConfigurationError, S3CSEError, S3RequestError
from ..keyrings import read_aes_key
from .filters import filter_options

F = TypeVar("F", bound=Callable[..., Any])


def add_options(func: F, options: Sequence[Callable[[F], F]]) -> F:
    """``options`` applied so that ``--help`` lists them in the order given."""
    for option in reversed(options):
        func = option(func)
    return func


endpoint_option = click.option(
    "--endpoint-url", help="S3 endpoint (default: AWS_ENDPOINT_URL_S3 or AWS)."
)
kms_endpoint_option = click.option(
    "--kms-endpoint-url", help="KMS endpoint (default: AWS_ENDPOINT_URL_KMS or AWS)."
)


def aws_option_list() -> list[Callable[[F], F]]:
    return [
        click.option(
            "--region",
            help="AWS region (default: AWS_REGION, AWS_DEFAULT_REGION or the profile's).",
        ),
        click.option(
            "--profile",
            help="AWS profile from the AWS config and credentials files "
            "(default: AWS_PROFILE, else the default chain).",
        ),
    ]


def aws_options(func: F) -> F:
    """Which AWS account and region a command talks to, as ``aws`` takes them."""
    return add_options(func, aws_option_list())


def _key_source_options() -> list[Callable[[F], F]]:
    return [
        click.option("--kms-key-id", help="AWS KMS key id, ARN or alias to wrap data keys."),
        click.option(
            "--kms-discovery",
            is_flag=True,
            help="Read with whichever KMS key wrapped each data key, if --kms-allow allows it.",
        ),
        click.option(
            "--kms-allow",
            multiple=True,
            metavar="ARN|account:ID",
            help="KMS key ARN or account:ACCOUNT_ID --kms-discovery may use (repeatable).",
        ),
        click.option(
            "--aes-key-file",
            type=click.Path(dir_okay=False),
            help="File with a 256-bit AES key (32 raw bytes or base64).",
        ),
        click.option(
            "--rsa-key-file",
            type=click.Path(dir_okay=False),
            help="PEM RSA key: the private key (a public key suffices to encrypt).",
        ),
        click.option(
            "--encryption-context",
            "encryption_context",
            multiple=True,
            metavar="KEY=VALUE",
            help="KMS encryption context entry (repeatable).",
        ),
        click.option("--matdesc", help="Material description (JSON) for AES/RSA keys."),
    ]


def _write_format_options() -> list[Callable[[F], F]]:
    return [
        click.option(
            "--format",
            "fmt",
            type=click.Choice(["v3", "v2"]),
            default="v3",
            show_default=True,
            help="Format to write; v3 commits to the key.",
        ),
        click.option(
            "--instruction-file",
            is_flag=True,
            help="Store the wrapped key in KEY.instruction, not in metadata.",
        ),
        click.option(
            "--integrity-index",
            is_flag=True,
            help="Also write KEY.s3cse-index: authenticated ranged reads.",
        ),
    ]


def _read_policy_options(policy_default: str) -> list[Callable[[F], F]]:
    return [
        click.option(
            "--legacy",
            is_flag=True,
            help="Allow reading legacy unauthenticated modes (CBC, kms, AESWrap, V1).",
        ),
        click.option(
            "--commitment-policy",
            type=click.Choice(
                [
                    "FORBID_ENCRYPT_ALLOW_DECRYPT",
                    "REQUIRE_ENCRYPT_ALLOW_DECRYPT",
                    "REQUIRE_ENCRYPT_REQUIRE_DECRYPT",
                ],
                case_sensitive=False,
            ),
            help=f"Key commitment policy (default {policy_default}).",
        ),
        endpoint_option,
        kms_endpoint_option,
    ]


def key_use_options(func: F) -> F:
    """The key options of a command that decrypts no content but can name the key that
    unwraps each object's data key (``inspect``, ``ls --exact``)."""
    return add_options(
        func,
        [
            *_key_source_options(),
            click.option(
                "--legacy",
                is_flag=True,
                help="Allow unwrapping legacy modes' keys (kms, AESWrap, V1).",
            ),
            kms_endpoint_option,
        ],
    )


def key_options(func: F) -> F:
    """The options of a command that encrypts and decrypts (``cp``)."""
    return add_options(
        func,
        [
            *_key_source_options(),
            *_write_format_options(),
            *_read_policy_options("follows --format"),
            *aws_option_list(),
        ],
    )


def read_key_options(func: F) -> F:
    """The options of a command that only decrypts (``cat``): nothing about writing."""
    return add_options(
        func,
        [
            *_key_source_options(),
            *_read_policy_options("REQUIRE_ENCRYPT_REQUIRE_DECRYPT"),
            *aws_option_list(),
        ],
    )


def sse_options(*, writes: bool = False, copies: bool = False) -> Callable[[F], F]:
    """Server-side encryption on top of client-side: SSE-S3, SSE-KMS or SSE-C."""
    options: list[Callable[[F], F]] = []
    if writes:
        options += [
            click.option(
                "--sse",
                type=click.Choice(["AES256", "aws:kms"]),
                help="Also encrypt server-side: AES256 (SSE-S3) or aws:kms (SSE-KMS).",
            ),
            click.option(
                "--sse-kms-key-id", help="KMS key for --sse aws:kms (default: the AWS managed key)."
            ),
        ]
    options.append(
        click.option(
            "--sse-c-key-file",
            type=click.Path(dir_okay=False),
            help="SSE-C: file with the 256-bit customer key (32 raw bytes or base64), sent "
            "with every request for the object and its sidecars.",
        )
    )
    if copies:
        options.append(
            click.option(
                "--sse-c-copy-source-key-file",
                type=click.Path(dir_okay=False),
                help="SSE-C key of the source objects of an s3:// to s3:// copy.",
            )
        )
    return lambda func: add_options(func, options)


NO_PROGRESS = "s3cse.no_progress"
"""``click.Context.meta`` entry set by ``--no-progress``; ``output.shows_progress``
reads it."""


def quiet_option(
    help: str = "Print only errors and warnings: nothing on success.",
) -> Callable[[F], F]:
    """``--quiet`` (``-q``, and the AWS CLI's ``--only-show-errors``, which means the same
    here: s3cse's ``--quiet`` never hides an error), and ``--no-progress``."""
    return lambda func: add_options(
        func,
        [
            click.option("--quiet", "-q", "--only-show-errors", "quiet", is_flag=True, help=help),
            click.option(
                "--no-progress",
                is_flag=True,
                expose_value=False,
                callback=_remember_no_progress,
                help="Show no progress bar (the lines saying what was done stay).",
            ),
        ],
    )


def _remember_no_progress(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta[NO_PROGRESS] = True


def dryrun_option(
    help: str = "Print what would be done; change nothing.",
) -> Callable[[F], F]:
    """``--dryrun``, as the AWS CLI spells it, and ``--dry-run``."""
    return click.option("--dryrun", "--dry-run", "dry_run", is_flag=True, help=help)


def concurrency_option(help: str) -> Callable[[F], F]:
    return click.option(
        "--concurrency", type=click.IntRange(min=1), default=8, show_default=True, help=help
    )


def parse_context(pairs: Sequence[str]) -> dict[str, str]:
    """``--encryption-context`` entries (``KEY=VALUE``) as a map."""
    context: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ConfigurationError(f"--encryption-context takes KEY=VALUE, not {pair!r}")
        context[name] = value
    return context


def parse_target_context(given: Sequence[str], empty: bool) -> tuple[tuple[str, str], ...] | None:
    """``--to-encryption-context`` / ``--to-empty-encryption-context``; None carries the
    current context over to what is written."""
    if empty:
        if given:
            raise ConfigurationError(
                "--to-empty-encryption-context and --to-encryption-context exclude each other"
            )
        return ()
    return tuple(sorted(parse_context(given).items())) if given else None


def target_key_chosen(
    kms_key_id: str | None, aes_key_file: str | None, rsa_key_file: str | None, matdesc: str | None
) -> bool:
    """Whether a ``--to-`` key was given: at most one, and ``--to-matdesc`` only with one."""
    chosen = [given for given in (kms_key_id, aes_key_file, rsa_key_file) if given]
    if len(chosen) > 1:
        raise ConfigurationError(
            "give one new key: --to-kms-key-id, --to-aes-key-file or --to-rsa-key-file"
        )
    if not chosen and matdesc is not None:
        raise ConfigurationError("--to-matdesc goes with --to-aes-key-file or --to-rsa-key-file")
    return bool(chosen)


def parse_matdesc(text: str | None, option: str = "--matdesc") -> dict[str, str] | None:
    """A ``--matdesc`` (JSON object of strings); None when it was not given."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        raise ConfigurationError(f"{option} must be a JSON object, not {text!r}") from None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ConfigurationError(f"{option} must be a JSON object of string values")
    return value


@dataclass(frozen=True)
class Sse:
    mode: str | None = None
    kms_key_id: str | None = None
    customer_key: bytes | None = field(default=None, repr=False)
    source_customer_key: bytes | None = field(default=None, repr=False)

    @classmethod
    def from_options(cls, kwargs: dict[str, Any]) -> Sse:
        mode, kms_key_id = kwargs.pop("sse", None), kwargs.pop("sse_kms_key_id", None)
        key_file = kwargs.pop("sse_c_key_file", None)
        source_file = kwargs.pop("sse_c_copy_source_key_file", None)
        if kms_key_id and mode != "aws:kms":
            raise ConfigurationError("--sse-kms-key-id goes with --sse aws:kms")
        if mode and key_file:
            raise ConfigurationError(
                "--sse and --sse-c-key-file exclude each other: an object has one kind of "
                "server-side encryption"
            )
        return cls(
            mode,
            kms_key_id,
            _load_sse_c_key(key_file) if key_file else None,
            _load_sse_c_key(source_file) if source_file else None,
        )

    def put_args(self) -> dict[str, Any]:
        """For objects written: PutObject / CreateMultipartUpload arguments."""
        args: dict[str, Any] = {}
        if self.mode:
            args["ServerSideEncryption"] = self.mode
        if self.kms_key_id:
            args["SSEKMSKeyId"] = self.kms_key_id
        return {**args, **_customer_key_args(self.customer_key)}

    def get_args(self) -> dict[str, Any]:
        """For the objects a command reads (HEAD, GET, instruction files, indexes)."""
        return _customer_key_args(self.customer_key)

    def source_args(self) -> dict[str, Any]:
        """For the sources of an s3:// to s3:// copy."""
        return _customer_key_args(self.source_customer_key)


def _customer_key_args(key: bytes | None) -> dict[str, Any]:
    # botocore adds SSECustomerKeyMD5 and base64-encodes the key itself
    return {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key} if key else {}


def _load_sse_c_key(path: str) -> bytes:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read SSE-C key file {path}: {exc.strerror}") from None
    try:
        key = read_aes_key(data)
    except ConfigurationError:
        key = b""
    if len(key) != 32:
        raise ConfigurationError(
            f"SSE-C key file {path} must hold a 256-bit key: 32 raw bytes or their base64 "
            "(make one with: s3cse keygen aes FILE)"
        )
    return key


@contextlib.contextmanager
def sse_c_hints(sse: Sse | None) -> Iterator[None]:
    """S3 answers a read of an SSE-C object without (or with the wrong) key with a bare
    400 or 403: say what to do about it."""
    try:
        yield
    except S3RequestError as exc:
        _add_sse_c_hint(exc, sse)
        raise


def _add_sse_c_hint(exc: S3CSEError, sse: Sse | None) -> None:
    if not isinstance(exc, S3RequestError) or exc.hint is not None:
        return
    text = exc.message
    with_key = sse is not None and (sse.customer_key or sse.source_customer_key)
    if not with_key and any(s in text for s in ("(400", "InvalidArgument", "customer key")):
        exc.hint = "If the object is stored with SSE-C, pass its key with --sse-c-key-file"
    elif with_key and any(s in text for s in ("(403", "AccessDenied", "(400")):
        exc.hint = "Check that the SSE-C key file holds the key the object was stored with"


STORAGE_CLASSES = (
    "STANDARD",
    "REDUCED_REDUNDANCY",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER",
    "DEEP_ARCHIVE",
    "GLACIER_IR",
)
CANNED_ACLS = (
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "aws-exec-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
    "log-delivery-write",
)


def attribute_options(*, copies: bool = False) -> Callable[[F], F]:
    """The attributes stored with the objects a command writes, as ``aws s3`` spells
    them (``attributes.Attributes.from_options`` takes them back). ``copies``: the
    command also copies s3:// to s3://, so ``--metadata-directive`` says whether the
    source's attributes come along."""
    options: list[Callable[[F], F]] = [
        click.option(
            "--content-type",
            help="Content-Type to store (default: guessed from the file name on uploads).",
        ),
        click.option(
            "--guess-mime-type/--no-guess-mime-type",
            default=True,
            help="Guess an upload's Content-Type from its file name when --content-type "
            "is not given (stdin is never guessed).",
        ),
        click.option("--cache-control", help="Cache-Control to store."),
        click.option("--content-disposition", help="Content-Disposition to store."),
        click.option(
            "--content-encoding",
            help="Content-Encoding to store (it describes the plaintext: S3 only keeps it).",
        ),
        click.option("--content-language", help="Content-Language to store."),
        click.option(
            "--expires",
            metavar="DATE",
            help="Expires to store: an ISO 8601 date and time (UTC unless it has an "
            "offset), or seconds since the epoch.",
        ),
        click.option(
            "--metadata",
            metavar="KEY=VALUE,...|JSON",
            help="User metadata: KEY=VALUE pairs separated by commas, or a JSON object "
            '({"KEY": "VALUE"}); names of the encryption metadata are refused.',
        ),
        click.option(
            "--storage-class",
            type=click.Choice(STORAGE_CLASSES),
            help="Storage class of the objects (their instruction files and indexes keep the "
            "bucket's default: readable without a restore).",
        ),
        click.option(
            "--acl",
            type=click.Choice(CANNED_ACLS),
            help="Canned ACL of the objects and their instruction files and indexes.",
        ),
        click.option(
            "--tagging",
            metavar="KEY=VALUE&...",
            help="Tags, URL-encoded as S3 takes them (a=1&b=x%20y), of the objects and "
            "their instruction files and indexes.",
        ),
    ]
    if copies:
        options.append(
            click.option(
                "--metadata-directive",
                type=click.Choice(["COPY", "REPLACE"]),
                default="COPY",
                show_default=True,
                help="s3:// to s3:// copies: COPY keeps the source's Content-*, "
                "Cache-Control, Expires, user metadata and tags, each flag given replacing "
                "what it names (--metadata the whole user metadata, --tagging all tags); "
                "REPLACE stores only the flags given.",
            )
        )
    return lambda func: add_options(func, options)


def target_key_option_list(target: str, rsa_note: str = "") -> list[Callable[[F], F]]:
    """The ``--to-`` key options: the key that what a command writes goes under, when it
    is not the key it reads with (``target`` says which, for the help)."""
    return [
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
            help=f"RSA key (PEM): {target}.{rsa_note}",
        ),
        click.option("--to-matdesc", help="Material description (JSON) of the --to- AES/RSA key."),
    ]


def target_key_options(func: F) -> F:
    """``--to-kms-key-id`` and the rest for s3:// to s3:// copies: read with the key
    options, write the copies under this key (``KeyOptions.copy_writer``)."""
    return add_options(
        func,
        target_key_option_list(
            "s3:// to s3:// copies are written under it (default: the key read with)"
        ),
    )


def cache_data_keys_option(func: F) -> F:
    """``--cache-data-keys``, for the commands that encrypt many objects."""
    return click.option(
        "--cache-data-keys",
        is_flag=True,
        help="Reuse data keys across objects (format v3): far fewer KMS calls for many "
        "small objects.",
    )(func)


def follow_symlinks_option(help: str) -> Callable[[F], F]:
    """``--follow-symlinks/--no-follow-symlinks`` (followed by default, as ``aws s3``)."""
    return click.option(
        "--follow-symlinks/--no-follow-symlinks", default=True, show_default=True, help=help
    )


def copying_options(
    *,
    verb: str,
    dryrun_help: str,
    symlinks_help: str = "With --recursive uploads: follow symbolic links to files and "
    "directories, or skip them.",
) -> Callable[[F], F]:
    """What every command that copies files and objects (``cp``, ``mv``, ``sync``) takes,
    after its own options: keys, server-side encryption, object attributes, the --to-
    key of s3:// to s3:// copies, data-key caching, concurrency, symbolic links,
    filters, dry run and quiet. ``verb``: what the command does to objects, for
    --concurrency's help."""
    return lambda func: add_options(
        func,
        [
            key_options,
            sse_options(writes=True, copies=True),
            attribute_options(copies=True),
            target_key_options,
            cache_data_keys_option,
            concurrency_option(f"Objects {verb} at once."),
            follow_symlinks_option(symlinks_help),
            filter_options,
            dryrun_option(dryrun_help),
            quiet_option(),
        ],
    )
