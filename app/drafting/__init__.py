"""From a question to a reviewed Draft: parts, evidence, prompt, compose, draft, review,
provenance; whole letters (letter, export) and the audit log.
"""
