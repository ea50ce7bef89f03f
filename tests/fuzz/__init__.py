"""Fuzz tests: hostile metadata, instruction files and ciphertext against the readers."""
