"""Drive the official amazon-s3-encryption-client-python from its own virtual environment.

Usage: python official_driver.py '<json request>'
Request: {"op": "put"|"get", "bucket", "key", "kms_key_id", "format": "v3"|"v2",
          "file": path, "context": {...}, "instruction_suffix": str|null}
Endpoints and credentials come from the standard AWS_* environment variables.
Prints one JSON line: {"ok": true} or {"ok": false, "error": "..."}.
"""

import json
import sys

import boto3
from s3_encryption import S3EncryptionClient, S3EncryptionClientConfig
from s3_encryption.materials.kms_keyring import KmsKeyring
from s3_encryption.materials.materials import AlgorithmSuite, CommitmentPolicy


def client(request):
    keyring = KmsKeyring(kms_client=boto3.client("kms"), kms_key_id=request["kms_key_id"])
    if request.get("format", "v3") == "v2":
        config = S3EncryptionClientConfig(
            keyring=keyring,
            encryption_algorithm=AlgorithmSuite.ALG_AES_256_GCM_IV12_TAG16_NO_KDF,
            commitment_policy=CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT,
        )
    else:
        config = S3EncryptionClientConfig(keyring=keyring)
    return S3EncryptionClient(wrapped_s3_client=boto3.client("s3"), config=config)


def main():
    request = json.loads(sys.argv[1])
    s3ec = client(request)
    extra = {}
    if request.get("context"):
        extra["EncryptionContext"] = request["context"]
    try:
        if request["op"] == "put":
            with open(request["file"], "rb") as source:
                s3ec.put_object(Bucket=request["bucket"], Key=request["key"],
                                Body=source.read(), **extra)
        elif request["op"] == "get":
            if request.get("instruction_suffix"):
                extra["InstructionFileSuffix"] = request["instruction_suffix"]
            response = s3ec.get_object(Bucket=request["bucket"], Key=request["key"], **extra)
            with open(request["file"], "wb") as sink:
                sink.write(response["Body"].read())
        else:
            raise ValueError(f"unknown op {request['op']}")
    except Exception as exc:  # report, do not crash: the test decides what is expected
        print(json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}"}))
        return
    print(json.dumps({"ok": True}))


if __name__ == "__main__":
    main()
