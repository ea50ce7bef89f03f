"""How S3 answers a Range header on an object of a given size, written out independently
of s3cse's own parsing so that the properties compare the two."""

from __future__ import annotations

import re

from hypothesis import strategies as st

_HEADER = re.compile(r"bytes=([0-9]*)-([0-9]*)")


def s3_answer(header: str, size: int) -> tuple[int, int] | None:
    """First and last byte S3 returns for ``header``, or None for its 416 answer."""
    match = _HEADER.fullmatch(header)
    assert match, header
    first_text, last_text = match.groups()
    if first_text == "":
        suffix = int(last_text)
        if suffix == 0 or size == 0:
            return None
        return max(size - suffix, 0), size - 1
    first = int(first_text)
    if first >= size:
        return None
    last = size - 1 if last_text == "" else min(int(last_text), size - 1)
    return first, last


@st.composite
def range_headers(draw: st.DrawFn, size: int) -> str:
    """Closed, open and suffix ranges, inside the object, across its end and past it."""
    reach = size + 40
    kind = draw(st.sampled_from(["closed", "open", "suffix"]))
    if kind == "suffix":
        return f"bytes=-{draw(st.integers(0, reach))}"
    first = draw(st.integers(0, reach))
    if kind == "open":
        return f"bytes={first}-"
    return f"bytes={first}-{first + draw(st.integers(0, reach))}"
