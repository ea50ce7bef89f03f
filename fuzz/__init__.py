"""Fuzzing harnesses (atheris) and what they share with the Hypothesis fuzz tests."""
