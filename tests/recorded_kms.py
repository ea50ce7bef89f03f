"""KMS stand-ins that replay one recorded exchange of a known-answer vector.

A vector's KMS blob was never made by a real KMS, so no KMS (moto's included) can
decrypt it. These clients answer exactly the recorded request (key id, ciphertext blob
and encryption context; GenerateDataKey also the key spec) with the recorded data key,
and fail the test on any other: what is checked is the request s3cse builds, not a
network round trip. ``RecordedKms`` is for ``KmsKeyring``, ``AsyncRecordedKms`` (the
same, awaited) for ``AsyncKmsKeyring``.
"""

from __future__ import annotations

from typing import Any


class RecordedKms:
    """A KMS client that replays one recorded exchange and insists on the same request."""

    def __init__(self, vector: dict[str, Any]) -> None:
        key = vector["master_key"]
        self.key_id: str = key["key_id"]
        self.data_key = bytes.fromhex(key["data_key_hex"])
        self.blob = bytes.fromhex(key["ciphertext_blob_hex"])
        self.context: dict[str, str] = key["encryption_context"]
        self.decrypt_calls = 0
        self.generate_calls = 0

    def decrypt(self, **params: Any) -> dict[str, Any]:
        self.decrypt_calls += 1
        assert params == {
            "KeyId": self.key_id,
            "CiphertextBlob": self.blob,
            "EncryptionContext": self.context,
        }
        return {"KeyId": self.key_id, "Plaintext": self.data_key}

    def generate_data_key(self, **params: Any) -> dict[str, Any]:
        self.generate_calls += 1
        # The context s3cse sends must equal the one the writer sent to KMS.
        assert params == {
            "KeyId": self.key_id,
            "KeySpec": "AES_256",
            "EncryptionContext": self.context,
        }
        return {"KeyId": self.key_id, "Plaintext": self.data_key, "CiphertextBlob": self.blob}

    def encrypt(self, **params: Any) -> dict[str, Any]:
        raise AssertionError(f"a known-answer vector records no KMS Encrypt call: {params}")


class AsyncRecordedKms:
    """``RecordedKms`` for the async client: the same checks, answered by coroutines."""

    def __init__(self, vector: dict[str, Any]) -> None:
        self.recorded = RecordedKms(vector)

    @property
    def decrypt_calls(self) -> int:
        return self.recorded.decrypt_calls

    async def decrypt(self, **params: Any) -> dict[str, Any]:
        return self.recorded.decrypt(**params)

    async def generate_data_key(self, **params: Any) -> dict[str, Any]:
        return self.recorded.generate_data_key(**params)

    async def encrypt(self, **params: Any) -> dict[str, Any]:
        return self.recorded.encrypt(**params)
