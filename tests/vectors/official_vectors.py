"""Run the official AWS S3 Encryption Client for Python with fixed randomness.

This script runs INSIDE the official client's own virtual environment
(``.venv-peers/official/bin/python``); ``generate.py`` starts it as a subprocess. It never
touches the network and never imports s3cse:

* ``os.urandom`` is replaced in this process by a function that hands the client the
  fixed IV (V2) or message id (V3) of the vector being produced. Only calls made from
  the ``s3_encryption`` package are served fixed bytes (exactly one per object, of the
  expected length); any other caller gets real randomness.
* The client's KMS client is a small stand-in object: ``generate_data_key`` returns the
  vector's fixed data key and ciphertext blob and records the EncryptionContext the
  client sent; ``decrypt`` returns the data key only if KeyId, CiphertextBlob and
  EncryptionContext equal the recorded ones.
* The S3 client is a real boto3 client whose PutObject / GetObject calls are answered by
  ``before-call`` handlers (botocore's own short-circuit): PutObject records the body and
  the ``x-amz-meta-*`` headers the client would send; GetObject serves a stored object
  (and its ``.instruction`` file), so the client's reader can be checked on a vector.

Input (stdin): {"encrypt": [request, ...], "decrypt": [request, ...]}
  encrypt request: {"name", "format": "v3"|"v2", "plaintext_hex", "fixed_random_hex",
                    "caller_context": {...}, "kms": {"key_id", "data_key_hex",
                    "ciphertext_blob_hex"}}
  decrypt request: {"name", "format", "legacy_wrapping": bool, "ciphertext_hex",
                    "metadata": {...}, "instruction_file": {...}|null,
                    "caller_context": {...}, "plaintext_hex",
                    "kms": {"key_id", "data_key_hex", "ciphertext_blob_hex",
                            "encryption_context": {...}}}
Output (stdout): one JSON object {"peer": name, "version": ..., "cryptography": ...,
  "encrypt": {name: {"ciphertext_hex", "metadata", "kms_encryption_context",
                     "random_draws"}},
  "decrypt": {name: {"ok": bool, "error": str|null}}}
"""

import importlib.metadata
import io
import json
import os
import sys

import boto3
from botocore.response import StreamingBody
from s3_encryption import S3EncryptionClient, S3EncryptionClientConfig
from s3_encryption.materials.kms_keyring import KmsKeyring
from s3_encryption.materials.materials import AlgorithmSuite, CommitmentPolicy

PEER = "amazon-s3-encryption-client-python"
META_PREFIX = "x-amz-meta-"
BUCKET = "vectors"
KEY = "object"

_real_urandom = os.urandom
_fixed = []  # bytes the client draws next, in order
_draws = []  # (length) of each fixed draw served


def _urandom(length):
    caller = sys._getframe(1).f_globals.get("__name__", "")
    if not caller.startswith("s3_encryption"):
        return _real_urandom(length)
    if not _fixed:
        raise AssertionError(f"{caller} drew {length} random bytes beyond the fixed ones")
    value = _fixed.pop(0)
    if len(value) != length:
        raise AssertionError(f"{caller} drew {length} bytes, the vector fixed {len(value)}")
    _draws.append(length)
    return value


os.urandom = _urandom


class _Meta:
    def __init__(self):
        self.config = type("Config", (), {"user_agent_extra": ""})()


class RecordedKms:
    """Stands in for the KMS client: fixed data key and blob, records what it is sent."""

    def __init__(self, key_id, data_key, blob, expected_context=None):
        self.meta = _Meta()
        self.key_id = key_id
        self.data_key = data_key
        self.blob = blob
        self.expected_context = expected_context
        self.generate_calls = []
        self.decrypt_calls = 0

    def generate_data_key(self, **params):
        if params.get("KeyId") != self.key_id or params.get("KeySpec") != "AES_256":
            raise AssertionError(f"unexpected GenerateDataKey parameters {sorted(params)}")
        self.generate_calls.append(dict(params["EncryptionContext"]))
        return {"KeyId": self.key_id, "Plaintext": self.data_key, "CiphertextBlob": self.blob}

    def decrypt(self, **params):
        self.decrypt_calls += 1
        if params.get("KeyId") != self.key_id:
            raise AssertionError(f"Decrypt KeyId {params.get('KeyId')!r}")
        if params.get("CiphertextBlob") != self.blob:
            raise AssertionError("Decrypt CiphertextBlob differs from the recorded one")
        if params.get("EncryptionContext") != self.expected_context:
            raise AssertionError(
                f"Decrypt EncryptionContext {params.get('EncryptionContext')!r} != "
                f"{self.expected_context!r}"
            )
        return {"KeyId": self.key_id, "Plaintext": self.data_key}


class _Http:
    status_code = 200
    headers = {}  # noqa: RUF012 - a stand-in for botocore's response, read only
    content = b""


def s3_stand_in(objects, puts):
    """A real boto3 S3 client whose PutObject and GetObject never leave the process."""
    s3 = boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id="vectors",
        aws_secret_access_key="vectors",
    )

    def on_put(params, **_):
        headers = params.get("headers", {})
        metadata = {
            k[len(META_PREFIX) :].lower(): v
            for k, v in headers.items()
            if k.lower().startswith(META_PREFIX)
        }
        body = params.get("body")
        if hasattr(body, "read"):
            body = body.read()
        puts.append({"body": bytes(body or b""), "metadata": metadata})
        return _Http(), {"ResponseMetadata": {"HTTPStatusCode": 200}}

    def on_get(params, **_):
        key = params["url_path"].rsplit("/", 1)[-1]
        body, metadata = objects[key]
        parsed = {
            "Body": StreamingBody(io.BytesIO(body), len(body)),
            "ContentLength": len(body),
            "Metadata": dict(metadata),
            "ResponseMetadata": {"HTTPStatusCode": 200},
        }
        return _Http(), parsed

    # Registered last, so the encryption client's own before-call handler (which encrypts
    # the body and adds the metadata headers) has already run when the put is recorded.
    s3.meta.events.register_last("before-call.s3.PutObject", on_put)
    s3.meta.events.register_last("before-call.s3.GetObject", on_get)
    return s3


def config_for(fmt, keyring):
    if fmt == "v3":
        suite = AlgorithmSuite.ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY
        policy = CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
    else:
        suite = AlgorithmSuite.ALG_AES_256_GCM_IV12_TAG16_NO_KDF
        policy = CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT
    return S3EncryptionClientConfig(
        keyring=keyring, encryption_algorithm=suite, commitment_policy=policy
    )


def encrypt(request):
    kms_spec = request["kms"]
    kms = RecordedKms(
        kms_spec["key_id"],
        bytes.fromhex(kms_spec["data_key_hex"]),
        bytes.fromhex(kms_spec["ciphertext_blob_hex"]),
    )
    keyring = KmsKeyring(kms_client=kms, kms_key_id=kms_spec["key_id"])
    puts = []
    client = S3EncryptionClient(
        wrapped_s3_client=s3_stand_in({}, puts), config=config_for(request["format"], keyring)
    )
    _fixed[:] = [bytes.fromhex(request["fixed_random_hex"])]
    _draws.clear()
    extra = {}
    if request.get("caller_context"):
        extra["EncryptionContext"] = dict(request["caller_context"])
    client.put_object(Bucket=BUCKET, Key=KEY, Body=bytes.fromhex(request["plaintext_hex"]), **extra)
    if _fixed or len(puts) != 1 or len(kms.generate_calls) != 1:
        raise AssertionError(
            f"{request['name']}: expected one random draw, one put and one GenerateDataKey; "
            f"got {len(_draws)} draws (left {len(_fixed)}), {len(puts)} puts, "
            f"{len(kms.generate_calls)} GenerateDataKey calls"
        )
    return {
        "ciphertext_hex": puts[0]["body"].hex(),
        "metadata": puts[0]["metadata"],
        "kms_encryption_context": kms.generate_calls[0],
        "random_draws": list(_draws),
    }


def decrypt(request):
    kms_spec = request["kms"]
    kms = RecordedKms(
        kms_spec["key_id"],
        bytes.fromhex(kms_spec["data_key_hex"]),
        bytes.fromhex(kms_spec["ciphertext_blob_hex"]),
        expected_context=kms_spec["encryption_context"],
    )
    keyring = KmsKeyring(
        kms_client=kms,
        kms_key_id=kms_spec["key_id"],
        enable_legacy_wrapping_algorithms=bool(request.get("legacy_wrapping")),
    )
    objects = {KEY: (bytes.fromhex(request["ciphertext_hex"]), request["metadata"])}
    if request.get("instruction_file") is not None:
        body = json.dumps(request["instruction_file"]).encode()
        objects[KEY + ".instruction"] = (body, {})
    client = S3EncryptionClient(
        wrapped_s3_client=s3_stand_in(objects, []),
        config=config_for(request["format"], keyring),
    )
    extra = {}
    if request.get("caller_context"):
        extra["EncryptionContext"] = dict(request["caller_context"])
    try:
        plaintext = client.get_object(Bucket=BUCKET, Key=KEY, **extra)["Body"].read()
    except Exception as exc:  # report; the generator decides
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    if plaintext != bytes.fromhex(request["plaintext_hex"]):
        return {"ok": False, "error": "decrypted to a different plaintext"}
    if kms.decrypt_calls != 1:
        return {"ok": False, "error": f"{kms.decrypt_calls} KMS Decrypt calls, expected 1"}
    return {"ok": True, "error": None}


def main():
    job = json.load(sys.stdin)
    out = {
        "peer": PEER,
        "version": importlib.metadata.version(PEER),
        "cryptography": importlib.metadata.version("cryptography"),
        "encrypt": {r["name"]: encrypt(r) for r in job.get("encrypt", [])},
        "decrypt": {r["name"]: decrypt(r) for r in job.get("decrypt", [])},
    }
    json.dump(out, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
