"""Drive aioboto3's client-side encryption (``aioboto3.s3.cse.S3CSE``) from its own venv.

aioboto3 15.5.0 pins aiobotocore==2.25.1 (and so an older botocore than ours), hence the
separate virtual environment.

Usage: python aioboto3_driver.py '<json request>'     (prints one JSON verdict line)
       python aioboto3_driver.py -  < requests.json    (a JSON list: prints one JSON list)
Request: {"op": "put"|"get"|"probe", "bucket", "key", "file": path,
          "context": "kms"|"symmetric"|"asymmetric",
          "kms_key_id": str,            (kms)
          "authenticated": bool,        (kms: AES-GCM when true, AES-CBC when false)
          "aes_key_file": path,         (symmetric: the raw 32-byte AES key)
          "rsa_key_file": path}         (asymmetric: the RSA private key, DER PKCS#8)
  put: encrypts "file" with the context. What aioboto3 writes, from its source:
       kms  -> x-amz-key-v2, x-amz-wrap-alg "kms", x-amz-matdesc {"kms_cmk_id": id},
               x-amz-cek-alg AES/GCM/NoPadding (authenticated) or AES/CBC/PKCS5Padding;
       symmetric  -> V1: x-amz-key (AES/ECB/PKCS5-wrapped data key), AES-CBC content;
       asymmetric -> V1: x-amz-key (RSA PKCS#1 v1.5-wrapped data key), AES-CBC content.
  get: decrypts into "file" (written only on success). aioboto3 decrypts only objects
       carrying x-amz-key or x-amz-key-v2 and hands any other object back as stored; the
       driver reports that as a failure (error_type "NotDecrypted"), judged from the
       peer's own behaviour: it replaces the body with a DummyAIOFile only on decryption.
  probe: {"ok": true, "versions": {...}, "multipart": {attribute: present?}}.
Endpoints come from AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL_KMS and are passed to aioboto3
explicitly (s3_client_args / kms_client_args); credentials from the standard AWS_* vars.
Verdicts: {"ok": true} or
{"ok": false, "error": "Type: message", "error_type": "Type", "causes": ["Type: message", ...]}.
"""

import asyncio
import importlib.metadata
import json
import os
import sys

from aioboto3.s3.cse import (
    S3CSE,
    AsymmetricCryptoContext,
    DummyAIOFile,
    KMSCryptoContext,
    SymmetricCryptoContext,
)

MULTIPART_ATTRIBUTES = (
    "create_multipart_upload",
    "upload_part",
    "complete_multipart_upload",
    "upload_file",
    "upload_fileobj",
)


class NotDecrypted(Exception):
    """aioboto3 returned the stored bytes without decrypting them."""


def client_args(service):
    endpoint = os.environ.get(f"AWS_ENDPOINT_URL_{service.upper()}")
    return {"endpoint_url": endpoint} if endpoint else {}


def crypto_context(request):
    kind = request["context"]
    if kind == "kms":
        return KMSCryptoContext(
            request.get("kms_key_id"),
            kms_client_args=client_args("kms"),
            authenticated_encryption=bool(request.get("authenticated", True)),
        )
    if kind == "symmetric":
        with open(request["aes_key_file"], "rb") as source:
            return SymmetricCryptoContext(source.read())
    if kind == "asymmetric":
        with open(request["rsa_key_file"], "rb") as source:
            private_key = AsymmetricCryptoContext.from_der_private_key(source.read())
        return AsymmetricCryptoContext(public_key=private_key.public_key(), private_key=private_key)
    raise ValueError(f"unknown crypto context {kind!r}")


def describe(exc):
    return f"{type(exc).__name__}: {exc}"


def failure(exc):
    causes = []
    inner = exc.__cause__ or exc.__context__
    while inner is not None and len(causes) < 5:
        causes.append(describe(inner))
        inner = inner.__cause__ or inner.__context__
    return {"ok": False, "error": describe(exc), "error_type": type(exc).__name__, "causes": causes}


def probe():
    return {
        "ok": True,
        "versions": {
            name: importlib.metadata.version(name)
            for name in ("aioboto3", "aiobotocore", "botocore", "cryptography")
        },
        "multipart": {name: hasattr(S3CSE, name) for name in MULTIPART_ATTRIBUTES},
    }


async def run_one(request):
    if request["op"] == "probe":
        return probe()
    async with S3CSE(crypto_context(request), s3_client_args=client_args("s3")) as s3cse:
        if request["op"] == "put":
            with open(request["file"], "rb") as source:
                body = source.read()
            await s3cse.put_object(Body=body, Bucket=request["bucket"], Key=request["key"])
        elif request["op"] == "get":
            response = await s3cse.get_object(Bucket=request["bucket"], Key=request["key"])
            body = response["Body"]
            if not isinstance(body, DummyAIOFile):
                body.close()
                raise NotDecrypted(
                    "aioboto3 found neither x-amz-key nor x-amz-key-v2 in the object "
                    "metadata and returned the stored bytes undecrypted"
                )
            plaintext = await body.read()
            with open(request["file"], "wb") as sink:
                sink.write(plaintext)
        else:
            raise ValueError(f"unknown op {request['op']}")
    return {"ok": True}


async def run_all(requests):
    verdicts = []
    for request in requests:
        try:
            verdicts.append(await run_one(request))
        except Exception as exc:  # report, do not crash: the test decides what is expected
            verdicts.append(failure(exc))
    return verdicts


def main():
    batch = sys.argv[1] == "-"
    requests = json.load(sys.stdin) if batch else [json.loads(sys.argv[1])]
    verdicts = asyncio.run(run_all(requests))
    print(json.dumps(verdicts if batch else verdicts[0]))


if __name__ == "__main__":
    main()
