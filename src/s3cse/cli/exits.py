"""Exit codes (``s3cse --help`` lists them) and the one mapping from an error to its
``s3cse: error:`` line and exit code."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import NoReturn

import click

from ..errors import (
    AuthenticationError,
    ConfigurationError,
    DestinationError,
    ObjectNotFoundError,
    S3CSEError,
)
from .output import display_message

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_AUTH, EXIT_NOT_FOUND = 0, 1, 2, 3, 4
EXIT_SKIPPED = 2  # as aws s3: files were skipped with a warning, the rest was copied
DEBUG_ENV = "S3CSE_DEBUG"
"""Set by ``--debug`` too: the library then quotes encryption context values."""


def debugging() -> bool:
    return bool(os.environ.get(DEBUG_ENV))


def exit_code(exc: S3CSEError) -> int:
    if isinstance(exc, (ConfigurationError, DestinationError)):
        return EXIT_USAGE
    if isinstance(exc, AuthenticationError):
        return EXIT_AUTH
    if isinstance(exc, ObjectNotFoundError):
        return EXIT_NOT_FOUND
    return EXIT_FAILED


def bulk_exit_code(failures: Sequence[S3CSEError]) -> int:
    """One code for many failures: theirs when they agree, else ``EXIT_FAILED``."""
    codes = {exit_code(exc) for exc in failures}
    return codes.pop() if len(codes) == 1 else EXIT_FAILED


def error_line(error: object) -> str:
    """``s3cse: error: ...``, with what the message quotes from S3 made terminal-safe."""
    return f"s3cse: error: {display_message(str(error))}"


def print_traceback(exc: BaseException) -> None:
    """With ``--debug`` (or ``S3CSE_DEBUG``) only: a traceback after the error line."""
    if debugging():
        import traceback

        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)


def fail(exc: S3CSEError) -> NoReturn:
    click.echo(error_line(exc), err=True)
    print_traceback(exc)
    sys.exit(exit_code(exc))


def unexpected(exc: BaseException) -> str:
    """One line for an error s3cse did not anticipate (botocore's are already readable)."""
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(exc, (BotoCoreError, ClientError)):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror}{where}"
    return f"unexpected {type(exc).__name__}: {exc} (run with --debug for a traceback)"
