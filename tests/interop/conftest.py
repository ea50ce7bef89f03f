"""Prints the interop matrix that ``test_matrix.py`` filled, and keeps it as Markdown."""

from __future__ import annotations

from typing import Any

import pytest

from .matrix import RESULTS_KEY, render, write_markdown

MARKDOWN = ("build", "interop-matrix.md")


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    results = config.stash.get(RESULTS_KEY, None)
    if not results:
        return
    path = config.rootpath.joinpath(*MARKDOWN)
    write_markdown(results, path)
    terminalreporter.section("interop matrix")
    for line in render(results):
        terminalreporter.write_line(line)
    terminalreporter.write_line("")
    terminalreporter.write_line(f"(also written to {path})")
