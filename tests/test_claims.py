"""Claim verdicts follow their fixed rules on synthetic measurements, in both directions."""
from __future__ import annotations

import numpy as np
import pandas as pd

from snlab import claims


def _history(sigmas):
    return pd.DataFrame([{"step": 1, **{f"sigma_conv{i}": 1.5 for i in range(len(sigmas))}},
                         {"step": 2, **{f"sigma_conv{i}": s for i, s in enumerate(sigmas)}}])


def test_c1_sigma_near_one():
    assert claims.c1_sigma(_history([1.0, 1.01, 1.02, 1.1]), "1")["verdict"] == "reproduced"  # 1.5 early: ignored
    assert claims.c1_sigma(_history([1.0, 1.01, 1.02, 1.3]), "1")["verdict"] == "not reproduced"
    assert claims.c1_sigma(_history([1.1, 1.1, 1.1]), "1")["verdict"] == "not reproduced"


def _final(fids):
    return pd.DataFrame([{"method": m, "setting": s, "FID_x": v} for m, row in fids.items() for s, v in row.items()])


def test_rules_say_not_measured_without_the_methods_they_need():
    assert claims.c2_settings(_final({"wn": {"A": 1}, "clip": {"A": 2}}), "FID_x", "1")["verdict"] == "not measured"
    ranks = pd.DataFrame({"method": ["sn", "wn"], "layer": ["a", "a"], "rank": [.5, .3]})
    assert claims.c3_spectra(ranks, "1")["verdict"] == "not measured"
    assert claims.c4_width(_trend(-0.5, 0, .05).query("method == 'sn'"), "IS_x", "3")["verdict"] == "not measured"


def test_c2_sn_must_have_the_best_worst_case():
    ok = _final({"sn": {"A": 30, "D": 35}, "wn": {"A": 25, "D": 90}, "clip": {"A": 40, "D": np.nan}})
    assert claims.c2_settings(ok, "FID_x", "1")["verdict"] == "reproduced"  # a diverged run counts as ∞
    second = _final({"sn": {"A": 30, "D": 60}, "wn": {"A": 25, "D": 50}, "clip": {"A": 40, "D": 80}})
    assert claims.c2_settings(second, "FID_x", "1")["verdict"] == "inconclusive"
    last = _final({"sn": {"A": 30, "D": 99}, "wn": {"A": 25, "D": 50}, "clip": {"A": 40, "D": 80}})
    assert claims.c2_settings(last, "FID_x", "1")["verdict"] == "not reproduced"
    all_diverged = _final({"sn": {"A": 30, "D": np.nan}, "wn": {"A": 25, "D": np.nan}})
    assert claims.c2_settings(all_diverged, "FID_x", "1")["verdict"] == "not reproduced"  # ∞ ties never win


def test_c3_broad_spectrum():
    ranks = pd.DataFrame({"method": ["sn", "sn", "wn", "clip"], "layer": ["a", "b", "a", "a"], "rank": [.5, .7, .3, .2]})
    assert claims.c3_spectra(ranks, "1")["verdict"] == "reproduced"
    ranks.loc[2, "rank"] = .9
    assert claims.c3_spectra(ranks, "1")["verdict"] == "not reproduced"


def _trend(slope_bad, slope_good, noise, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for m, slope in (("orthonormal", slope_bad), ("sn", slope_good)):
        for w in (0.5, 1, 2, 4, 8):
            for _ in range(3):  # seeds
                rows.append({"method": m, "final_width": w, "IS_x": 5 + slope * np.log2(w) + noise * rng.normal()})
    return pd.DataFrame(rows)


def test_c4_trend_rule_separates_signal_from_noise():
    assert claims.c4_width(_trend(-0.5, 0.0, 0.05), "IS_x", "3")["verdict"] == "reproduced"
    assert claims.c4_width(_trend(0.2, 0.0, 0.05), "IS_x", "3")["verdict"] == "not reproduced"
    assert claims.c4_width(_trend(-0.05, 0.0, 1.0), "IS_x", "3")["verdict"] == "inconclusive"
    assert claims.c4_width(_trend(-0.8, -0.4, 0.05), "IS_x", "3")["verdict"] == "not reproduced"  # SN falls too
    flat = _trend(0.0, 0.0, 0.05)
    flat.loc[(flat["method"] == "orthonormal") & (flat["final_width"] == 8), "IS_x"] = np.nan  # diverged: IS 1
    c = claims.c4_width(flat, "IS_x", "3")
    assert c["verdict"] == "reproduced" and "3 diverged runs counted as IS 1" in c["measured"]


def test_c5_and_c7():
    timing = pd.DataFrame([{"round": r, "method": m, "seconds_per_100_g_updates": t, "device": "cpu"}
                           for r in range(3) for m, t in (("none", 10), ("sn", 12), ("wgan-gp", 20))])
    assert claims.c5_timing(timing)["verdict"] == "reproduced"
    slow_sn = timing.replace({"seconds_per_100_g_updates": {12: 15, 20: 30}})
    assert claims.c5_timing(slow_sn)["verdict"] == "not reproduced"  # SN 1.5x: not cheap
    timing.loc[timing["method"] == "wgan-gp", "seconds_per_100_g_updates"] = 13
    assert claims.c5_timing(timing)["verdict"] == "not reproduced"
    assert claims.c5_timing(timing[timing["method"] != "wgan-gp"])["verdict"] == "not measured"
    table = pd.DataFrame([{"method": m, "step": s, "critic_train": -1.0, "critic_heldout": -1.0 + gap * s}
                          for m, gap in (("wgan-gp", .5), ("wn", .3), ("sn-gamma", .1)) for s in (1, 2, 3, 4)])
    assert claims.c7_overfit(table, "1")["verdict"] == "reproduced"
    table.loc[table["method"] == "wn", "critic_heldout"] = -1.0
    assert claims.c7_overfit(table, "1")["verdict"] == "not reproduced"


def test_c8_needs_both_a_higher_is_and_a_lower_intra_fid():
    def table(sn_is, sn_intra):
        rows = [("sn", "r1", 1, 1.0, 300.0), ("sn", "r1", 2, sn_is, sn_intra), ("orthonormal", "r2", 1, 1.0, 300.0),
                ("orthonormal", "r2", 2, 3.0, 100.0)]
        return pd.DataFrame(rows, columns=["method", "run", "step", "IS_x", "intraFID_x"])
    assert claims.c8_conditional(table(3.5, 90.0), "IS_x", "intraFID_x", "1")["verdict"] == "reproduced"
    assert claims.c8_conditional(table(3.5, 110.0), "IS_x", "intraFID_x", "1")["verdict"] == "not reproduced"
    assert claims.c8_conditional(table(2.5, 90.0), "IS_x", "intraFID_x", "1")["verdict"] == "not reproduced"
    assert claims.c8_conditional(table(float("nan"), float("nan")), "IS_x", "intraFID_x", "1")["verdict"] == \
        "not reproduced"  # SN diverged
    diverged_ortho = table(1.5, 250.0)
    diverged_ortho.loc[3, ["IS_x", "intraFID_x"]] = float("nan")
    c8 = claims.c8_conditional(diverged_ortho, "IS_x", "intraFID_x", "1")
    assert c8["verdict"] == "reproduced" and "1 run(s) diverged" in c8["measured"]
    assert claims.c8_conditional(table(3.5, 110.0), "IS_x", None, "1")["verdict"] == "reproduced"  # IS only
    only_sn = table(3.5, 90.0).query("method == 'sn'")
    assert claims.c8_conditional(only_sn, "IS_x", "intraFID_x", "1")["verdict"] == "not measured"


def test_claims_markdown_lists_every_claim(tmp_path):
    claims.record(tmp_path / "fig09", [claims.c1_sigma(_history([1.0, 1.01]), "1")], caption="x")
    text = claims.write_markdown(tmp_path).read_text()
    for cid in claims.CLAIMS:
        assert f"**{cid}**" in text
    assert "**reproduced**" in text and text.count("not measured") == 7 and "`fig09`" in text
