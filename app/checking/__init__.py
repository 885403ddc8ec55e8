"""Consistency checks: figures, dates and commitments (facts, fact_rules, check) and the question's
premises (premise).
"""
