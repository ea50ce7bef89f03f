"""Attacks by someone who can write to the bucket but holds no key.

Each test here plays one attack against the real local stack and asserts that s3cse
releases no forged, re-bound or unauthenticated plaintext."""
