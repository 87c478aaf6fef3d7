"""``riskguard daemon``: watch every configured account and act on its policy, once, in time (docs/daemon.md).

Small modules, each one concern: ``settings`` (the config section; imported by ``riskguard.config``, so it stays
light), ``killswitch``, ``remark`` (a stream's mark applied to the last full read), ``feeds`` (ccxt.pro streams
and REST polling), ``worker`` (one account: read, evaluate, act, confirm), ``gate_api``, ``runner``.  Alerts and
metrics live in ``riskguard.alerts`` and ``riskguard.metrics``.
"""
