# Generated from s3cse/_async/__init__.py by scripts/unasync.py: edit that file instead.
"""The I/O of s3cse, written once, async; ``_sync`` is generated from it."""
