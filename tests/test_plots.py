"""Figures regenerate identically: the strip plots' jitter is fixed, and numpy's global state is untouched."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

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
