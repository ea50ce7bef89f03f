"""Key bytes given to ``s3cse://`` by value never leave the process.

fsspec keeps a filesystem's constructor options in ``storage_options``, writes them out
in ``to_json`` (which data catalogs store) and pickles them (Dask task graphs, process
pools). A key by value must be in none of these; a key file travels as its path.
"""

from __future__ import annotations

import base64
import pickle
from pathlib import Path
from typing import Any

import fsspec
import pytest

from s3cse import errors as e

from ..keys import aes_key

pytestmark = pytest.mark.integration


def _traces(key: bytes) -> list[bytes]:
    """Every form the key could be written out in."""
    return [key, key.hex().encode(), base64.b64encode(key), repr(key).encode()]


def _filesystem(stack: Any, **options: Any) -> Any:
    return fsspec.filesystem(
        "s3cse", skip_instance_cache=True, endpoint_url=stack.s3_endpoint, **options
    )


@pytest.mark.parametrize("form", ["raw", "base64"])
def test_key_by_value_is_not_serialised(stack: Any, bucket: str, key_name: str, form: str) -> None:
    key = aes_key(0)
    value: bytes | str = key if form == "raw" else base64.b64encode(key).decode()
    fs = _filesystem(stack, aes_key=value)
    path = f"{bucket}/{key_name}.txt"
    fs.pipe_file(path, b"still works")
    assert fs.cat_file(path) == b"still works"

    exposed = repr(fs.storage_options).encode() + repr(vars(fs)).encode()
    for trace in _traces(key):
        assert trace not in exposed
    with pytest.raises(e.ConfigurationError, match="aes_key_file"):
        fs.to_json()
    with pytest.raises(e.ConfigurationError, match="aes_key_file"):
        fs.to_dict()
    with pytest.raises(e.ConfigurationError, match="aes_key_file"):
        pickle.dumps(fs)


def test_key_file_travels_as_its_path(
    stack: Any, bucket: str, key_name: str, tmp_path: Path
) -> None:
    key = aes_key(0)
    key_file = tmp_path / "aes.key"
    key_file.write_bytes(key)
    fs = _filesystem(stack, aes_key_file=str(key_file))
    path = f"{bucket}/{key_name}.txt"
    fs.pipe_file(path, b"round trip")
    blob = fs.to_json()
    assert str(key_file) in blob
    pickled = pickle.dumps(fs)
    for trace in _traces(key):
        assert trace not in blob.encode() and trace not in pickled
    assert fsspec.AbstractFileSystem.from_json(blob).cat_file(path) == b"round trip"
    assert pickle.loads(pickled).cat_file(path) == b"round trip"
