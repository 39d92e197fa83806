"""Whether a difference between seed means (or fitted slopes) is outside seed noise: the test behind every
"reproduced" and "not reproduced" of ``snlab.claims``.

A difference counts when Welch's t-test on it is significant at two-sided ``ALPHA``: it exceeds
t_{1−α/2}(df) standard errors, df from the Welch–Satterthwaite equation. With 3 seeds a side (df ≈ 2–4) that
is 2.8–4.3 SE, where a fixed 2 SE would pass 12–18% of differences that are noise alone.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import stats

#: Two-sided level at which a difference is taken to be outside seed noise.
ALPHA = 0.05
#: How a rule names the test, in ``snlab.claims``' rule texts, and when it goes the other way (``best_of``).
WELCH = f"Welch's t across seeds, two-sided p < {ALPHA}"
AGAINST = f"not reproduced when any of its k comparisons goes the other way at p < {ALPHA}/k (Bonferroni)"


class Estimate(NamedTuple):
    """A seed mean or a fitted slope with its standard error and degrees of freedom (seeds − 1 for a mean,
    points − 2 for a slope; ∞ for a value known exactly, such as ∞ from a diverged seed; 0 with no noise
    estimate, SE NaN)."""

    value: float
    se: float
    df: float


def mean_se(values) -> Estimate:
    """Mean and standard error across seeds: SE 0 (exact) when a value is infinite, NaN from one seed (no
    noise estimate, so no difference from it is significant)."""
    v = np.asarray(values, float)
    if not np.isfinite(v).all():
        return Estimate(float(v.mean()), 0.0, np.inf)
    if len(v) < 2:
        return Estimate(float(v.mean()), float("nan"), 0.0)
    return Estimate(float(v.mean()), float(v.std(ddof=1) / np.sqrt(len(v))), len(v) - 1.0)


def slope(x, y) -> Estimate:
    """Least-squares slope of y on x, its standard error and df = points − 2 (non-finite y left out); NaN
    through fewer than 3 points or one x."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = np.isfinite(y)
    x, y = x[keep], y[keep]
    if len(x) < 3 or np.ptp(x) == 0:
        return Estimate(float("nan"), float("nan"), 0.0)
    fit = np.polyfit(x, y, 1, full=False, cov=True)
    return Estimate(float(fit[0][0]), float(np.sqrt(fit[1][0, 0])), len(x) - 2.0)


def critical(df: float, alpha: float = ALPHA) -> float:
    """t_{1−α/2}(df): how many standard errors a difference must exceed; ∞ without a noise estimate (df < 1)."""
    return float(stats.t.ppf(1 - alpha / 2, df)) if df >= 1 else float("inf")


def compare(estimate: Estimate, alpha: float = ALPHA) -> str:
    """"ahead" when ``estimate.value`` is significantly above 0 (two-sided level ``alpha``), "behind" when
    below, else "tied"."""
    value, se, df = estimate
    if np.isinf(value):  # a diverged seed's ∞ against a finite value: the order is certain
        return "ahead" if value > 0 else "behind"
    if not (np.isfinite(value) and np.isfinite(se)):
        return "tied"
    margin = critical(df, alpha) * se if se > 0 else 0.0
    return "ahead" if value > margin else "behind" if value < -margin else "tied"


def difference(a: Estimate, b: Estimate) -> Estimate:
    """a − b, with the combined SE and the Welch–Satterthwaite df of the two (∞ − ∞: NaN, tied)."""
    se = float(np.hypot(a.se, b.se))
    if not np.isfinite(se) or any(e.df < 1 and e.se > 0 for e in (a, b)):
        df = 0.0  # a side with spread but no degrees of freedom: no noise estimate
    else:
        parts = sum(e.se ** 4 / e.df for e in (a, b) if e.se > 0)  # an exact side (SE 0) adds nothing
        df = se ** 4 / parts if parts > 0 else np.inf  # both exact, or both known to ∞ df: normal
    with np.errstate(invalid="ignore"):
        return Estimate(float(a.value - b.value), se, df)


def judge(leads: list[Estimate]) -> str:
    """The verdict on k ``leads`` that must all be positive (differences, the claim's side minus the other):
    reproduced when every one is significant at ``ALPHA`` (an intersection, so no correction is due), not
    reproduced when any is significantly negative at ``ALPHA``/k (Bonferroni: any one of k would otherwise
    fire on noise k times as often), else inconclusive."""
    if any(compare(d, ALPHA / len(leads)) == "behind" for d in leads):
        return "not reproduced"
    return "reproduced" if all(compare(d) == "ahead" for d in leads) else "inconclusive"


def best_of(values: dict[str, Estimate], winner: str, higher: bool) -> str:
    """The verdict for "``winner`` has the best value": ``judge`` of its lead over every other."""
    return judge([difference(values[winner], e) if higher else difference(e, values[winner])
                  for k, e in values.items() if k != winner])
