"""What admission decided, as numbers: each tenant's share and the deadlines met per tier.

- OC-ADM-9014: :class:`ShareMeter` keeps, per tier, each tenant's share of the tier's
  admissions as an exponentially weighted moving average over the last ``window`` admissions
  (smoothing factor ``alpha = 2 / (window + 1)``), bias-corrected: after *k* admissions the
  raw averages sum to ``1 - (1 - alpha)^k``, and dividing by that sum makes the shares of a
  tier sum to 1 from the first admission on, instead of creeping up from 0.
- OC-ADM-9013: :class:`DeadlineBook` counts, per tier, requests admitted by their deadline
  and requests refused for want of a slot in time; its ratio is 1 while it counted none.

Pure: no clock, no locks (the registry serialises calls).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from poolmgr.core.admission import TIERS, Priority

__all__ = ["SHARE_WINDOW", "DeadlineBook", "ShareMeter"]

SHARE_WINDOW: Final = 100
"""Admissions the share average spans (OC-ADM-9014)."""


class ShareMeter:
    """Per tier, each tenant's bias-corrected EWMA share of admissions."""

    def __init__(self, window: int = SHARE_WINDOW) -> None:
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        self.alpha = 2.0 / (window + 1)
        self._raw: dict[Priority, dict[str, float]] = {tier: {} for tier in TIERS}
        self._mass: dict[Priority, float] = dict.fromkeys(TIERS, 0.0)
        """Per tier: ``1 - (1 - alpha)^k`` after k admissions, the sum of the raw averages."""

    def admitted(self, tenant: str, priority: Priority) -> None:
        """Count one admission of ``tenant`` in ``priority``."""
        raw = self._raw[priority]
        keep = 1.0 - self.alpha
        for name in raw:
            raw[name] *= keep
        raw[tenant] = raw.get(tenant, 0.0) + self.alpha
        self._mass[priority] = self._mass[priority] * keep + self.alpha

    def shares(self, priority: Priority) -> Mapping[str, float]:
        """Each tenant seen in the tier, with its share (summing to 1); empty before any."""
        mass = self._mass[priority]
        if mass <= 0.0:
            return {}
        return {name: value / mass for name, value in sorted(self._raw[priority].items())}


class DeadlineBook:
    """Per tier: requests admitted by their deadline, and requests that missed it."""

    def __init__(self) -> None:
        self._met: dict[Priority, int] = dict.fromkeys(TIERS, 0)
        self._missed: dict[Priority, int] = dict.fromkeys(TIERS, 0)

    def met(self, priority: Priority) -> None:
        self._met[priority] += 1

    def missed(self, priority: Priority) -> None:
        self._missed[priority] += 1

    def counts(self, priority: Priority) -> tuple[int, int]:
        """``(met, missed)`` of the tier."""
        return self._met[priority], self._missed[priority]

    def ratio(self, priority: Priority) -> float:
        """Met over met plus missed; 1.0 while the tier counted neither."""
        met, missed = self._met[priority], self._missed[priority]
        total = met + missed
        return 1.0 if total == 0 else met / total
