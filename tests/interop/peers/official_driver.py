"""Drive the official amazon-s3-encryption-client-python from its own virtual environment.

Usage: python official_driver.py '<json request>'     (prints one JSON verdict line)
       python official_driver.py -  < requests.json    (a JSON list: prints one JSON list)
Request: {"op": "put"|"get", "bucket", "key", "kms_key_id", "format": "v3"|"v2",
          "file": path, "context": {...}, "instruction_suffix": str|null,
          "policy": CommitmentPolicy name|null, "multipart": bool,
          "legacy_wrapping": bool, "legacy_unauthenticated": bool}
  put: encrypts "file" with the format's algorithm suite (v3: the default
       ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY + REQUIRE_ENCRYPT_REQUIRE_DECRYPT;
       v2: ALG_AES_256_GCM_IV12_TAG16_NO_KDF + FORBID_ENCRYPT_ALLOW_DECRYPT).
       "multipart": upload with the client's upload_file, which switches to an encrypted
       multipart upload (8 MiB parts) from 8 MiB on; otherwise one put_object.
  get: decrypts into "file" (written only on success). "policy" picks the commitment
       policy to read with; without it, the format's policy above is used (so "format":
       "v2" reads non-committing objects, "format": "v3" refuses them).
       "legacy_wrapping" sets the KMS keyring's enable_legacy_wrapping_algorithms (V1-era
       "kms" wraps); "legacy_unauthenticated" sets the client's
       enable_legacy_unauthenticated_modes (AES-CBC content). Both default to false.
Endpoints and credentials come from the standard AWS_* environment variables.
Prints one JSON line: {"ok": true} or
{"ok": false, "error": "Type: message", "error_type": "Type", "causes": ["Type: message", ...]}.
"""

import json
import sys

import boto3
from s3_encryption import S3EncryptionClient, S3EncryptionClientConfig
from s3_encryption.materials.kms_keyring import KmsKeyring
from s3_encryption.materials.materials import AlgorithmSuite, CommitmentPolicy

COMMITTING = AlgorithmSuite.ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY
NON_COMMITTING = AlgorithmSuite.ALG_AES_256_GCM_IV12_TAG16_NO_KDF


def client(request):
    keyring = KmsKeyring(
        kms_client=boto3.client("kms"),
        kms_key_id=request["kms_key_id"],
        enable_legacy_wrapping_algorithms=bool(request.get("legacy_wrapping")),
    )
    v2 = request.get("format", "v3") == "v2"
    if request.get("policy"):
        policy = CommitmentPolicy[request["policy"]]
    else:
        policy = (
            CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT
            if v2
            else CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
        )
    if request["op"] == "get":
        # Reading does not depend on the write suite: pick the one the policy accepts.
        forbid = policy is CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT
        algorithm = NON_COMMITTING if forbid else COMMITTING
    else:
        algorithm = NON_COMMITTING if v2 else COMMITTING
    config = S3EncryptionClientConfig(
        keyring=keyring,
        encryption_algorithm=algorithm,
        commitment_policy=policy,
        enable_legacy_unauthenticated_modes=bool(request.get("legacy_unauthenticated")),
    )
    return S3EncryptionClient(wrapped_s3_client=boto3.client("s3"), config=config)


def describe(exc):
    return f"{type(exc).__name__}: {exc}"


def failure(exc):
    causes = []
    inner = exc.__cause__ or exc.__context__
    while inner is not None and len(causes) < 5:
        causes.append(describe(inner))
        inner = inner.__cause__ or inner.__context__
    return {"ok": False, "error": describe(exc), "error_type": type(exc).__name__, "causes": causes}


def run_one(request):
    extra = {}
    if request.get("context"):
        extra["EncryptionContext"] = request["context"]
    try:
        s3ec = client(request)
        if request["op"] == "put" and request.get("multipart"):
            s3ec.upload_file(request["file"], request["bucket"], request["key"], **extra)
        elif request["op"] == "put":
            with open(request["file"], "rb") as source:
                s3ec.put_object(
                    Bucket=request["bucket"], Key=request["key"], Body=source.read(), **extra
                )
        elif request["op"] == "get":
            if request.get("instruction_suffix"):
                extra["InstructionFileSuffix"] = request["instruction_suffix"]
            response = s3ec.get_object(Bucket=request["bucket"], Key=request["key"], **extra)
            plaintext = response["Body"].read()
            with open(request["file"], "wb") as sink:
                sink.write(plaintext)
        else:
            raise ValueError(f"unknown op {request['op']}")
    except Exception as exc:  # report, do not crash: the test decides what is expected
        return failure(exc)
    return {"ok": True}


def main():
    if sys.argv[1] == "-":
        print(json.dumps([run_one(request) for request in json.load(sys.stdin)]))
    else:
        print(json.dumps(run_one(json.loads(sys.argv[1]))))


if __name__ == "__main__":
    main()
