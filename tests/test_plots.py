"""Figures regenerate identically (the strip plots' jitter is fixed, numpy's global state untouched), and Fig 15's
gap curve is the statistic its label names."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from snlab import plots


def _points(fig) -> list[np.ndarray]:
    return [c.get_offsets().copy() for ax in fig.axes for c in ax.collections if len(c.get_offsets())]


def test_timing_points_land_in_the_same_places_on_every_call():
    timing = pd.DataFrame([{"device": "cpu", "method": m, "round": r, "seconds_per_100_g_updates": 1 + r + i}
                           for i, m in enumerate(("none", "sn", "wn")) for r in range(5)])
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    first, second = plots.timing_bars(timing), plots.timing_bars(timing)
    a, b = _points(first), _points(second)
    plt.close("all")
    assert len(a) == 3 and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert any(len(np.unique(x[:, 0])) > 1 for x in a)  # jittered, not stacked
    assert np.array_equal(np.random.get_state()[1], before)


def test_fig15_gap_curve_is_the_windowed_ratio_of_means_and_one_method_still_draws():
    """Train loss alternating −1 / −3, held-out 0.2 above it: each window of 10 logged rows has
    mean(held-out − train) / mean|train| = 0.2 / 2 = 0.1 exactly (a mean of step-by-step ratios would give
    (0.2 + 0.067) / 2 = 0.133); the curve starts after one full window."""
    steps = np.arange(50, 2050, 50)
    train = np.where(np.arange(len(steps)) % 2 == 0, -1.0, -3.0)
    runs = pd.concat([pd.DataFrame({"run": f"r{k}", "method": "wn", "step": steps, "critic_train": train,
                                    "critic_heldout": train + 0.2, "IS_x": np.linspace(1, 3, len(steps))})
                      for k in range(2)])
    fig = plots.heldout_curves(runs, title="t")
    gap, = [ax for ax in fig.axes if ax.get_ylabel().startswith("mean(held-out")]
    x, y = gap.lines[0].get_xdata(), gap.lines[0].get_ydata()
    assert x[0] == steps[plots.GAP_WINDOW - 1] and np.allclose(y, 0.1)
    assert sum(ax.get_title() == "WN" for ax in fig.axes) == 1
    plt.close(fig)


def test_settings_bars_colour_each_method_from_light_to_its_own_colour():
    """Figs 1–2 keep one colour per method: its bars go from a light shade (A) to the method's colour (the
    last setting), with a missing cell (WN at A) leaving the others in place."""
    from matplotlib.colors import to_rgba

    final = pd.DataFrame([{"method": m, "setting": s, "seed": k, "IS_x": 2.0 + k}
                          for m in ("wn", "sn") for s in "ABC" for k in range(3) if (m, s) != ("wn", "A")])
    fig = plots.settings_bars(final, "IS", ["wn", "sn"])
    bars = {(round(b.get_x() + b.get_width() / 2), s): b.get_facecolor()
            for bars, s in zip(fig.axes[0].containers, "ABC") for b in bars if b.get_height() > 0}
    plt.close(fig)
    for i, method in enumerate(("wn", "sn")):
        assert np.allclose(bars[(i, "C")], to_rgba(plots.method_color(method)))
        assert np.mean(bars[(i, "B")][:3]) > np.mean(bars[(i, "C")][:3])  # lighter
    assert (0, "A") not in bars  # WN has no run at A: SN's lone bar there keeps SN's lightest shade
    assert np.allclose(bars[(1, "A")], to_rgba(sns.light_palette(plots.method_color("sn"), 5)[2]))
