"""A sampled design over an integer key draws each whole number of its range equally often.

Rounding a continuous draw over [a, b] gave a and b half the weight of the numbers between (a
robustness design then under-sampled the ends of, say, how many elders a helper may take on);
the draw now spans [a - 1/2, b + 1/2]. A Latin hypercube puts exactly N / (b - a + 1) of its N
rows in each unit stratum, so its counts are exact; a Sobol sequence's are within its low
discrepancy (a few rows in a thousand). Morris keeps its grid of levels.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from sim.experiment.design import load_experiment

ROOT = Path(__file__).resolve().parents[1]
KEY = "dispatch.pairing.max_elders_per_helper"


def design(tmp_path: Path, kind: str, samples: int) -> np.ndarray:
    path = tmp_path / "x.toml"
    scenario = json.dumps(str(ROOT / "scenarios" / "chaoyangli.toml"))
    extra = "" if kind != "sobol" else "second_order = false\n"
    path.write_text(
        f'[experiment]\nname = "x"\nscenario = {scenario}\nseeds = 1\nroot_seed = 1\ndays = 1\n'
        f'[design]\nkind = "{kind}"\nsamples = {samples}\nsample_seed = 3\n{extra}'
        f'[variables]\n"{KEY}" = {{ min = 1, max = 5 }}\n'
        '"acceptance.base_probability" = { min = 0.4, max = 0.8 }\n'
        '"volunteers.min_age_years" = { min = 12, max = 18 }\n',
        encoding="utf-8",
    )
    experiment = load_experiment(path)
    return np.array([point.values[KEY] for point in experiment.points])


def test_a_latin_hypercube_draws_each_whole_number_equally_often(tmp_path) -> None:
    values = design(tmp_path, "lhs", 1000)
    counts = {int(v): int(n) for v, n in zip(*np.unique(values, return_counts=True), strict=True)}
    assert counts == {1: 200, 2: 200, 3: 200, 4: 200, 5: 200}  # was 125 at each end, 250 between
    assert all(isinstance(v, int) for v in values.tolist())


def test_a_sobol_design_draws_each_whole_number_about_equally_often(tmp_path) -> None:
    values = design(tmp_path, "sobol", 1024)  # 1024 base rows, (k + 2) = 5 matrices of them
    shares = np.array([(values == v).mean() for v in range(1, 6)])
    # each unit interval of a scrambled Sobol sequence of 1024 points holds 1024/5 +- a few
    np.testing.assert_allclose(shares, 0.2, atol=0.01)
    assert values.min() == 1 and values.max() == 5
