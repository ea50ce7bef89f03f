"""Exit codes (``s3cse --help`` lists them) and the one mapping from an error to its
``s3cse: error:`` line and exit code.

s3cse's codes say what went wrong; ``aws s3`` (1.x, measured) mostly answers 1, or 255
when an error ends the command before any transfer:

=============================================  =====  ======
situation                                      s3cse  aws s3
=============================================  =====  ======
success                                        0      0
missing object: cp, rm                         4      1, 0
missing object: ls of a prefix with nothing    0      1
missing bucket: cp, rm, rb                     4      1
missing bucket: ls                             4      255
unknown option, unreadable local source        2      255
cp -r skipped special files, rest copied       2      2
one of many transfers failed                   1 [*]  1
authentication failed (tampered object)        3      -
access denied (wrong credentials)              1      1 (ls: 255)
mb of an existing bucket                       1      1
mb of an invalid name (checked before S3)      2      1
rb of a non-empty bucket, without --force      2      1
Ctrl-C, SIGTERM                                130,   1
                                               143
=============================================  =====  ======

[*] or the failures' own code when they all agree (``bulk_exit_code``): 2 when every
failure is a local destination that cannot be written, 3 when every one is tampered.
"""

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
