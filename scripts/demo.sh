#!/usr/bin/env bash
# The s3cse demo: a local S3 + KMS, an encrypted round trip with each keyring, a
# tampered object refused. Everything runs on 127.0.0.1 and is stopped at the end.
set -euo pipefail

WORK="${DEMO_WORK:-demo-work}"
BUCKET=demo
rm -rf "$WORK"
mkdir -p "$WORK"
STATE="$WORK/stack"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Start a local S3 (SeaweedFS) and KMS (moto server) on 127.0.0.1"
s3cse local start --state-dir "$STATE" --bucket "$BUCKET" > "$WORK/env.sh"
trap 's3cse local stop --state-dir "$STATE" >/dev/null; echo; echo "== Stopped the local stack"' EXIT
# shellcheck disable=SC1091
source "$WORK/env.sh"
echo "S3  at $AWS_ENDPOINT_URL_S3"
echo "KMS at $AWS_ENDPOINT_URL_KMS"

step "Make keys: a 256-bit AES key, an RSA key pair, a KMS key"
s3cse keygen aes "$WORK/aes.key"
s3cse keygen rsa "$WORK/rsa.pem" --bits 2048
KMS_KEY_ID=$(s3cse local create-kms-key --state-dir "$STATE")
echo "created KMS key $KMS_KEY_ID"

step "Make a 5 MiB file to protect"
python - "$WORK/report.csv" <<'PY'
import random, sys
rows = ["id,name,balance"] + [f"{i},customer-{i},{random.randint(0, 10**6)}" for i in range(200_000)]
data = ("\n".join(rows) + "\n").encode()[: 5 * 1024 * 1024]
open(sys.argv[1], "wb").write(data)
PY
sha() { python -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$1"; }
ORIGINAL=$(sha "$WORK/report.csv")
echo "sha256 $ORIGINAL  report.csv"

declare -A KEYS=(
  [kms]="--kms-key-id $KMS_KEY_ID --encryption-context department=finance"
  [aes]="--aes-key-file $WORK/aes.key --matdesc {\"key\":\"aes-2026\"}"
  [rsa]="--rsa-key-file $WORK/rsa.pem --matdesc {\"key\":\"rsa-2026\"}"
)
for ring in kms aes rsa; do
  # shellcheck disable=SC2086
  set -- ${KEYS[$ring]}
  step "Keyring $ring: encrypt and upload"
  s3cse cp "$WORK/report.csv" "s3://$BUCKET/report-$ring.csv" "$@"

  step "Keyring $ring: what S3 stores (ciphertext and encryption metadata, no key)"
  s3cse inspect "s3://$BUCKET/report-$ring.csv" --show-bytes 16
  echo "plaintext starts with: $(head -c 16 "$WORK/report.csv" | python -c 'import sys; print(sys.stdin.buffer.read().hex())')"

  step "Keyring $ring: download, decrypt, verify"
  s3cse cp "s3://$BUCKET/report-$ring.csv" "$WORK/report-$ring.csv" "$@"
  GOT=$(sha "$WORK/report-$ring.csv")
  echo "sha256 $GOT  report-$ring.csv"
  if [ "$GOT" != "$ORIGINAL" ]; then echo "MISMATCH"; exit 1; fi
  echo "identical to the original"
done

step "Wrong key: another AES key cannot read the object"
s3cse keygen aes "$WORK/other.key"
set +e
s3cse cp "s3://$BUCKET/report-aes.csv" "$WORK/wrong.csv" --aes-key-file "$WORK/other.key"
CODE=$?
set -e
echo "exit code $CODE (1 = the key cannot unwrap the data key)"
if [ "$CODE" = 0 ]; then echo "expected a failure"; exit 1; fi

step "Tamper with a stored object: flip one ciphertext bit behind s3cse's back"
python - "$BUCKET" report-aes.csv <<'PY'
import sys, boto3
s3 = boto3.client("s3")
bucket, key = sys.argv[1], sys.argv[2]
obj = s3.get_object(Bucket=bucket, Key=key)
data = bytearray(obj["Body"].read())
data[1000] ^= 0x01
s3.put_object(Bucket=bucket, Key=key, Body=bytes(data), Metadata=obj["Metadata"])
print(f"flipped one bit of s3://{bucket}/{key} at byte 1000")
PY
step "Download the tampered object: s3cse refuses it and leaves nothing behind"
set +e
s3cse cp "s3://$BUCKET/report-aes.csv" "$WORK/tampered.csv" --aes-key-file "$WORK/aes.key"
CODE=$?
set -e
echo "exit code $CODE (3 = failed authentication)"
if [ "$CODE" != 3 ]; then echo "expected exit code 3"; exit 1; fi
if [ -e "$WORK/tampered.csv" ]; then echo "a file was left at the destination"; exit 1; fi
echo "no file was written to $WORK/tampered.csv"

step "Demo complete"
