"""What the CLI prints: progress bars, listing rows, and strings from S3 made safe to
print on a terminal.

Keys, bucket names and metadata values are chosen by whoever can write to the bucket.
Printed raw, an escape sequence in one (``\\x1b]...\\x07``, ``\\x1b[...``) is a command to
the user's terminal: it can retitle the window, rewrite earlier lines, forge output or
hide a key; a bidi override (U+202E) makes a key read as another one.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import unicodedata
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import click

from .options import NO_PROGRESS

Callback = Callable[[int], None]
"""Told the number of bytes done since the last call (boto3's transfer callbacks)."""

# Controls (C0, DEL, C1), invisible format characters (bidi overrides, zero-width
# characters), line and paragraph separators, and lone surrogates (undecodable bytes
# of a local file name), which a terminal would act on, hide, or fail to encode.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def display_key(text: str) -> str:
    """``text`` with every character a terminal would act on or not show written as a
    visible Python-style escape (``\\x1b``, ``\\u202e``); printable text, including
    backslashes and non-ASCII letters, is kept as it is so that keys stay readable."""
    if text.isprintable():
        return text
    return "".join(_escape(char) if _hidden(char) else char for char in text)


def display_message(text: str) -> str:
    """An error or status message (which may quote keys) for the terminal: escaped as
    ``display_key`` does, except that its own line breaks are kept, with the lines after
    the first indented, so that quoted data can never start a line of its own."""
    return "\n  ".join(display_key(line) for line in text.split("\n"))


def _hidden(char: str) -> bool:
    return unicodedata.category(char) in _HIDDEN_CATEGORIES


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


# ---------------------------------------------------------------------------- progress


def shows_progress(quiet: bool) -> bool:
    """A bar only on a terminal, and unless ``--quiet`` or ``--no-progress``."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.find_root().meta.get(NO_PROGRESS):
        return False
    return not quiet and sys.stderr.isatty()


@contextlib.contextmanager
def progress(label: str, total: int | None, quiet: bool) -> Iterator[Callback | None]:
    """A bytes bar on a terminal's stderr; silent when piped or asked to be quiet."""
    if not shows_progress(quiet):
        yield None
        return
    with _bar(label, total, counting=False, live=False) as (advance, _):
        yield advance


@contextlib.contextmanager
def live_progress(
    label: str, total: int | None, quiet: bool, *, counting: bool = False
) -> Iterator[tuple[Callback | None, Callable[..., None]]]:
    """A bar of bytes, or of objects (``counting``), on a terminal (stderr), and an echo
    that prints above it; no bar when piped or quiet."""
    if not shows_progress(quiet):
        yield None, click.echo
        return
    with _bar(label, total, counting=counting, live=True) as (advance, echo):
        yield advance, echo


@contextlib.contextmanager
def _bar(
    label: str, total: int | None, *, counting: bool, live: bool
) -> Iterator[tuple[Callback, Callable[..., None]]]:
    """A transient rich bar on stderr, in bytes or in objects (``counting``); ``live``:
    other output goes above it (through the echo it yields), not through rich."""
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        TimeElapsedColumn,
        TransferSpeedColumn,
    )

    amount = MofNCompleteColumn() if counting else DownloadColumn()
    rate = TimeElapsedColumn() if counting else TransferSpeedColumn()
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        amount,
        rate,
        transient=True,
        console=Console(stderr=True),
        redirect_stdout=not live,
        redirect_stderr=not live,
    ) as bar:
        # rich reads a label as markup, and it may quote a key
        task = bar.add_task(escape(display_key(label)), total=total)
        yield (lambda done: bar.advance(task, done)), _live_echo(bar)


def _live_echo(bar: Any) -> Callable[..., None]:
    """``click.echo`` that prints terminal lines above a live progress bar."""
    from rich.text import Text

    lock = threading.Lock()

    def echo(line: str, err: bool = False) -> None:
        stream = sys.stderr if err else sys.stdout
        with lock:
            if stream.isatty():
                bar.console.print(Text(line), highlight=False, soft_wrap=True)
            else:
                click.echo(line, err=err)

    return echo


# ---------------------------------------------------------------------------- listings


def echo_bucket(bucket: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(
            json.dumps({"bucket": bucket["Name"], "created": _iso(bucket.get("CreationDate"))})
        )
    else:
        click.echo(f"{_local_time(bucket.get('CreationDate'))} {display_key(bucket['Name'])}")


def echo_prefix(prefix: str, base: str, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"prefix": prefix}))
    else:
        click.echo(f"{'PRE':>30} {display_key(prefix[len(base) :])}")


def echo_row(
    row: dict[str, Any],
    base: str,
    as_json: bool,
    widths: tuple[int, int] | None,
    *,
    human: bool = False,
) -> None:
    """One object of ``ls``; ``widths``: those of the format and wrapping columns
    (``--exact``), else None; ``human``: sizes in KiB, MiB... (text only)."""
    if as_json:
        click.echo(json.dumps({**row, "last_modified": _iso(row["last_modified"])}))
        return
    size = size_text(row["size"], row["size_source"] == "cbc-upper-bound", human)
    line = f"{_local_time(row['last_modified'])} {size:>10}"
    if widths is not None:
        line += f" {format_text(row):<{widths[0]}} {wrapping_text(row):<{widths[1]}}"
    click.echo(display_key(f"{line} {row['key'][len(base) :]}"))


def size_text(size: int, upper_bound: bool, human: bool) -> str:
    """A plaintext size as ``ls`` prints it: ``~`` before an upper bound (legacy CBC)."""
    text = human_size(size) if human else str(size)
    return f"~{text}" if upper_bound else text


_BINARY_UNITS = ("KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


def human_size(size: int) -> str:
    """A size as ``aws s3 ls --human-readable`` prints it: bytes below 1 KiB, else one
    decimal in the smallest binary unit that keeps the number (rounded) below 1024."""
    if size == 1:
        return "1 Byte"
    if size < 1024:
        return f"{size} Bytes"
    scaled, unit = size / 1024, 0
    while round(scaled) >= 1024 and unit < len(_BINARY_UNITS) - 1:
        scaled, unit = scaled / 1024, unit + 1
    return f"{scaled:.1f} {_BINARY_UNITS[unit]}"


def echo_summary(objects: int, size: int, upper_bound: bool, *, human: bool, as_json: bool) -> None:
    """``ls --summarize``: the number of objects listed and their total plaintext size
    (an upper bound when one of them is legacy CBC); in JSON one line of its own."""
    if as_json:
        click.echo(
            json.dumps(
                {
                    "total_objects": objects,
                    "total_size": size,
                    "total_size_upper_bound": upper_bound,
                }
            )
        )
        return
    click.echo(f"\nTotal Objects: {objects}")
    click.echo(f"   Total Size: {size_text(size, upper_bound, human)}")


def wrapping_text(info: dict[str, Any]) -> str:
    """The wrapping algorithm and what names the key (KMS keys are not in the metadata:
    the encryption context's keys are shown; raw keys: their material description),
    and the key that unwrapped the data key when it was asked for (``key_used``)."""
    text = _wrapping_text(info)
    return f"{text} key:{info['key_used']}" if info.get("key_used") else text


def _wrapping_text(info: dict[str, Any]) -> str:
    wrapping = str(info.get("wrapping", "-"))
    if "encryption_context" in info:
        context: dict[str, str] = info["encryption_context"]
        names = [
            f"kms_cmk_id={v}" if k == "kms_cmk_id" else k
            for k, v in sorted(context.items())
            if k != "aws:x-amz-cek-alg"
        ]
        return f"{wrapping} context:{','.join(names)}" if names else wrapping
    description = info.get("material_description") or {}
    if description:
        return f"{wrapping} {json.dumps(description, sort_keys=True, separators=(',', ':'))}"
    return wrapping


def format_text(info: dict[str, Any]) -> str:
    text = str(info.get("format", "?"))
    return f"{text}-CBC" if "CBC" in str(info.get("suite", "")) else text


def _local_time(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)
