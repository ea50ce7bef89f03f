"""``--exclude`` / ``--include``, with the AWS CLI's rules: every path starts included;
each pattern, in the order given on the command line, that matches it excludes or
includes it again, so the last matching pattern decides. A pattern is a shell glob
(``*``, ``?``, ``[seq]``, ``[!seq]``) matched against the path relative to the
command's source directory or prefix (and, for ``sync --delete``, its destination); as
in ``fnmatch``, ``*`` also matches ``/``, so ``--exclude "*.tmp"`` reaches into
subdirectories and ``--exclude "logs/*"`` drops a whole subtree.

Click hands each multiple option its values on their own, losing how ``--exclude`` and
``--include`` interleave; ``FilteredCommand`` records that order while it parses."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

Rule = tuple[Literal["exclude", "include"], str]

_FILTERS = "s3cse.filters"
_KINDS = ("exclude", "include")


@dataclass(frozen=True)
class PathFilter:
    """The ordered ``--exclude`` / ``--include`` rules of one command."""

    rules: tuple[Rule, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.rules)

    @cached_property
    def _compiled(self) -> tuple[tuple[bool, re.Pattern[str]], ...]:
        return tuple(
            (kind == "include", re.compile(fnmatch.translate(pattern)))
            for kind, pattern in self.rules
        )

    def includes(self, relative: str) -> bool:
        """Whether the path (``/``-separated, relative to the command's root) is kept."""
        kept = True
        for include, pattern in self._compiled:
            if pattern.match(relative):
                kept = include
        return kept

    @classmethod
    def from_context(cls, ctx: click.Context | None = None) -> PathFilter:
        """The rules ``FilteredCommand`` recorded for the command being run."""
        ctx = ctx or click.get_current_context()
        return cls(tuple(ctx.meta.get(_FILTERS, ())))


def filter_options(func: F) -> F:
    """``--exclude PATTERN`` and ``--include PATTERN`` (repeatable, order matters); the
    command must be a ``FilteredCommand``, and reads them with
    ``PathFilter.from_context``."""
    for kind, help in reversed(
        (
            ("exclude", "Leave out paths matching PATTERN (repeatable)."),
            ("include", "Take back paths matching PATTERN that an earlier --exclude left out."),
        )
    ):
        func = click.option(
            f"--{kind}", multiple=True, metavar="PATTERN", expose_value=False, help=help
        )(func)
    return func


class FilteredCommand(click.Command):
    """A command whose ``--exclude`` / ``--include`` rules keep their command-line
    order (see ``PathFilter``)."""

    def make_parser(self, ctx: click.Context) -> Any:
        parser = super().make_parser(ctx)
        parse = parser.parse_args

        def parse_in_order(args: list[str]) -> Any:
            opts, rest, order = parse(args)
            ctx.meta[_FILTERS] = ordered_rules(order, opts)
            return opts, rest, order

        parser.parse_args = parse_in_order  # type: ignore[method-assign]
        return parser


def ordered_rules(order: Sequence[Any], values: dict[str, Any]) -> list[Rule]:
    """The parser's occurrences (``order``: one parameter per option given) matched with
    the values of ``--exclude`` and ``--include`` in ``values``, in command-line order."""
    remaining = {kind: iter(values.get(kind) or ()) for kind in _KINDS}
    rules: list[Rule] = []
    for param in order:
        name = getattr(param, "name", None)
        if name == "exclude":
            rules.append(("exclude", next(remaining["exclude"])))
        elif name == "include":
            rules.append(("include", next(remaining["include"])))
    return rules
