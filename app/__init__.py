"""Kamervragen-assistent: draft answers to parliamentary questions consistent with prior answers.

Pipeline (one module per stage): letters → store/lexical → retrieve → prompt → llm → draft → check
→ ui / cli / evals. Nothing runs at import time.
"""

__version__ = "0.1.0"
