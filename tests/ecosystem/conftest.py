"""Options every data tool passes to reach s3cse:// on the local stack."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ..keys import aes_key


@pytest.fixture
def storage_options(stack: Any, tmp_path: Path) -> dict[str, Any]:
    key_file = tmp_path / "aes.key"
    key_file.write_bytes(aes_key(0))
    env = stack.env()
    return {
        "aes_key_file": str(key_file),
        "endpoint_url": stack.s3_endpoint,
        "key": env["AWS_ACCESS_KEY_ID"],
        "secret": env["AWS_SECRET_ACCESS_KEY"],
        "client_kwargs": {"region_name": env["AWS_DEFAULT_REGION"]},
    }
