"""The README's CLI reference names every command and every long option the CLI takes,
so that a flag added to a command is documented with it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from s3cse.cli import main

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def commands(group: click.Group = main, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))
        else:
            yield (*path, name)


def command(path: tuple[str, ...]) -> click.Command:
    found: click.Command = main
    for name in path:
        assert isinstance(found, click.Group)
        found = found.commands[name]
    return found


def long_options(path: tuple[str, ...]) -> list[str]:
    return [
        name
        for param in command(path).params
        if isinstance(param, click.Option)
        for name in (*param.opts, *param.secondary_opts)
        if name.startswith("--") and name != "--help"
    ]


def mentioned(text: str) -> bool:
    return re.search(re.escape(text) + r"(?![\w-])", README) is not None


@pytest.mark.parametrize("path", list(commands()), ids=" ".join)
def test_the_readme_names_the_command_and_each_of_its_options(path: tuple[str, ...]) -> None:
    assert mentioned(f"`{path[0]}") or mentioned(f"s3cse {path[0]}")
    missing = [name for name in long_options(path) if not mentioned(name)]
    assert missing == [], f"README says nothing of {' '.join(path)} {missing}"


def test_the_aws_s3_users_table_is_there() -> None:
    assert "**For `aws s3` users.**" in README
    for verb in ("sync", "mv", "mb", "rb", "presign"):
        assert f"`aws s3 {verb}" in README or f"aws s3 {verb}" in README
