"""``--exclude`` / ``--include``: the AWS CLI's order rules, kept through click."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from s3cse.cli.filters import FilteredCommand, PathFilter, filter_options
from s3cse.cli.options import dryrun_option, quiet_option
from s3cse.cli.output import shows_progress

PATHS = ["a.txt", "sub/a.txt", "b.log", "logs/x.txt", "logs/deep/y.log", "[x].txt"]


def kept(*rules: tuple[str, str]) -> list[str]:
    rule_filter = PathFilter(tuple(rules))  # type: ignore[arg-type]
    return [p for p in PATHS if rule_filter.includes(p)]


def test_no_rules_keep_everything() -> None:
    assert kept() == PATHS


def test_star_crosses_directories_as_in_the_aws_cli() -> None:
    assert kept(("exclude", "*.txt")) == ["b.log", "logs/deep/y.log"]


def test_the_last_matching_rule_decides() -> None:
    assert kept(("exclude", "*"), ("include", "*.txt")) == [
        "a.txt",
        "sub/a.txt",
        "logs/x.txt",
        "[x].txt",
    ]
    # the other order: the include is overruled by the later exclude
    assert kept(("include", "*.txt"), ("exclude", "*")) == []


def test_a_subtree_and_character_classes() -> None:
    assert kept(("exclude", "logs/*")) == ["a.txt", "sub/a.txt", "b.log", "[x].txt"]
    assert kept(("exclude", "[ab].*")) == ["sub/a.txt", "logs/x.txt", "logs/deep/y.log", "[x].txt"]
    assert kept(("exclude", "[!a]*")) == ["a.txt"]


@click.command(cls=FilteredCommand)
@click.argument("src")
@filter_options
@dryrun_option()
@quiet_option()
def probe(src: str, dry_run: bool, quiet: bool) -> None:
    rules = PathFilter.from_context().rules
    click.echo(repr((rules, dry_run, quiet, shows_progress(False))))


@pytest.mark.parametrize(
    "args",
    [
        ["--exclude", "*", "--include", "*.txt", "SRC", "--exclude=logs/*"],
        ["--exclude=*", "SRC", "--include", "*.txt", "--exclude", "logs/*"],
    ],
)
def test_the_command_line_order_survives_parsing(args: list[str]) -> None:
    result = CliRunner().invoke(probe, args)
    assert result.exit_code == 0, result.output
    rules, *_ = eval(result.output)
    assert rules == (("exclude", "*"), ("include", "*.txt"), ("exclude", "logs/*"))


@pytest.mark.parametrize("spelling", ["--dryrun", "--dry-run"])
def test_dryrun_takes_both_spellings(spelling: str) -> None:
    result = CliRunner().invoke(probe, ["SRC", spelling])
    assert eval(result.output)[1] is True


@pytest.mark.parametrize("spelling", ["--quiet", "-q", "--only-show-errors"])
def test_quiet_takes_the_aws_spelling(spelling: str) -> None:
    result = CliRunner().invoke(probe, ["SRC", spelling])
    assert eval(result.output)[2] is True


def test_no_progress_turns_the_bar_off(monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    from s3cse.cli import output

    terminal = types.SimpleNamespace(isatty=lambda: True)
    monkeypatch.setattr(output, "sys", types.SimpleNamespace(stderr=terminal))
    shown = eval(CliRunner().invoke(probe, ["SRC"]).output)[3]
    hidden = eval(CliRunner().invoke(probe, ["SRC", "--no-progress"]).output)[3]
    assert (shown, hidden) == (True, False)
