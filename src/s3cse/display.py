"""Strings from S3 made safe to print on a terminal.

Keys, bucket names and metadata values are chosen by whoever can write to the bucket.
Printed raw, an escape sequence in one (``\\x1b]...\\x07``, ``\\x1b[...``) is a command to
the user's terminal: it can retitle the window, rewrite earlier lines, forge output or
hide a key; a bidi override (U+202E) makes a key read as another one.
"""

from __future__ import annotations

import unicodedata

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
