"""Hypothesis strategies for hostile input, built on the edits the atheris harnesses use."""

from __future__ import annotations

import base64
import json
import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from fuzz.samples import (
    CIPHERTEXT_KINDS,
    EDIT_KINDS,
    NAMES,
    VALUES,
    ByteEdit,
    Edit,
    metadata_seeds,
    samples,
)

FUZZ = settings(
    max_examples=int(os.environ.get("S3CSE_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
"""Modest example counts, so the whole of tests/fuzz stays well under a minute;
``S3CSE_FUZZ_EXAMPLES=5000`` searches longer."""

names = st.one_of(st.sampled_from(NAMES), st.text(max_size=12))
b64_values = st.binary(max_size=80).map(lambda b: base64.b64encode(b).decode("ascii"))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
).map(json.dumps)
values = st.one_of(
    st.sampled_from(VALUES), st.text(max_size=40), b64_values, json_values, st.integers().map(str)
)

random_metadata = st.dictionaries(names, values, max_size=10)
edits = st.lists(
    st.builds(Edit, st.sampled_from(EDIT_KINDS), names, values, st.integers(0, 4096)),
    min_size=1,
    max_size=4,
)
byte_edits = st.lists(
    st.builds(
        ByteEdit, st.sampled_from(CIPHERTEXT_KINDS), st.integers(0, 4096), st.binary(max_size=20)
    ),
    min_size=1,
    max_size=3,
)
sample_list = list(samples())
sample_indexes = st.integers(0, len(sample_list) - 1)
seed_metadata = st.sampled_from(metadata_seeds())
