"""Evaluation suites: data + evaluators + thresholds, run from `kv eval`."""

SOURCE_LETTER = "apply-ai-strategie"
"""The letter this product is built around (../shared/data/source-letter/, in corpus/letters/):
`kv eval` evaluates it on its own (evals/source_letter.py). Here so the CLI can name it cheaply."""
