"""Evaluation suites: data + evaluators + thresholds, run from `kv eval`."""
