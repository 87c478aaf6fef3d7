"""Exception hierarchy.

    RiskguardError
    ├── InputError            bad config, snapshot or CLI input; says where (file:line or field path)
    │   ├── ConfigError
    │   └── SnapshotError
    └── DataUnavailable       a venue read failed or came back unusable; the account is UNKNOWN
        └── StaleData         data arrived but is older than the policy allows

Every one of these ends a check with exit code 3 and a one-line reason, never a
traceback: the caller is usually a script gating a trade, and it must be able to
tell "could not evaluate" apart from "evaluated and fine".
"""

from __future__ import annotations


class RiskguardError(Exception):
    """Base of every error riskguard raises on purpose."""


class InputError(RiskguardError):
    def __init__(self, message: str, where: str | None = None) -> None:
        self.message = message
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class ConfigError(InputError):
    pass


class SnapshotError(InputError):
    pass


class DataUnavailable(RiskguardError):
    """A read that riskguard needs did not succeed; never to be read as 'no position'."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        """The venue's Retry-After when it gave one: asking again sooner is what gets an IP banned."""


class StaleData(DataUnavailable):
    pass
