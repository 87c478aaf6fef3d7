"""Deleveraging strategies shipped with riskguard, discovered by their ``name`` (riskguard/rules/strategy.py).

Each module defines one :class:`riskguard.rules.strategy.Strategy`; modules starting with ``_`` hold shared
helpers and are not scanned.  docs/strategies.md documents every strategy's parameters.
"""
