"""The I/O of s3cse, written once, async; ``_sync`` is generated from it."""
