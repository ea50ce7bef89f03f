"""The filesystem takes the clients' decrypt-side data-key cache switch, and keeps it
through pickling (Dask workers rebuild the filesystem from its options)."""

from __future__ import annotations

import pickle

from s3cse.core.config import CryptoConfig
from s3cse.fs import S3CSEFileSystem


def test_the_default_is_the_clients_and_zero_turns_it_off() -> None:
    default = S3CSEFileSystem(kms_key_id="alias/k", skip_instance_cache=True)
    assert default.crypto_config.decrypt_cache_seconds == CryptoConfig.decrypt_cache_seconds > 0
    off = S3CSEFileSystem(kms_key_id="alias/k", decrypt_cache_seconds=0, skip_instance_cache=True)
    assert off.crypto_config.decrypt_cache_seconds == 0
    assert pickle.loads(pickle.dumps(off)).crypto_config.decrypt_cache_seconds == 0
