"""A district of communities (sim.district): the KD-tree space, the community column, orders
kept inside their community, the stored layout, the generated Heping scenario, a small run."""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.community import layout_from_table, layout_table
from sim.district import build_place_layout, district_toml, read_table
from sim.model import VolunteerModel
from sim.orders import SERVED
from sim.scenario import POLICY_NAMES, Scenario, load, with_overrides
from sim.space import DenseSpace, TreeSpace

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "scenarios" / "data" / "heping-communities.csv"
HEPING = ROOT / "scenarios" / "heping-district.toml"


def two_communities(cross_boundary_m: float = 0.0) -> Scenario:
    """Two small communities side by side (scaled from a 400-resident base)."""
    rows = [
        {
            "name": name,
            "residents": residents,
            "area_km2": area,
            "share_aged_60_plus": 0.3,
            "share_aged_80_plus": 0.1,
            "share_aged_90_plus": 0.01,
            "registered_share": 0.6,
            "source": "test",
        }
        for name, residents, area in (("Chaoyangli", 400, 0.0144), ("Other", 600, 0.0225))
    ]
    return with_overrides(
        Scenario(),
        {
            "population.residents": 400,
            "population.households": 150,
            "community.buildings": 10,
            "community.stairwells": 30,
            "community.grids": 3,
            "community.service_points": 20,
            "community.width_m": 120.0,
            "community.height_m": 120.0,
            "district.communities": rows,
            "district.cross_boundary_m": cross_boundary_m,
        },
    )


@pytest.mark.parametrize("policy", POLICY_NAMES)
def test_a_small_district_runs_with_a_tree_space_and_orders_stay_in_their_community(policy):
    model = VolunteerModel(two_communities(), policy=policy, days=10, rng=3)
    community_of = model.layout.community[model.population.stairwell]
    across = []  # offers to a volunteer of another community (who could never accept)
    offer = model.orders.offer

    def checked_offer(o, v, *args, **kwargs):
        if community_of[v] != community_of[model.orders.elder[o]]:
            across.append((o, v))
        return offer(o, v, *args, **kwargs)

    model.orders.offer = checked_offer  # every policy offers through the one book
    assert isinstance(model.layout.space, TreeSpace)
    assert model.layout.community_names == ("Chaoyangli", "Other")
    assert set(model.layout.community.tolist()) == {0, 1}
    model.run()
    assert across == []
    orders = model.order_table()
    assert set(orders["community"]) <= {0, 1}
    served = orders[orders["status"] == SERVED]
    assert len(served) > (0 if policy == "pairing" else 10)  # pairing serves paired elders only
    volunteer_community = model.layout.community[model.population.stairwell[served["volunteer"]]]
    assert (volunteer_community == served["community"].to_numpy()).all()
    table = model.community_table()
    assert table["residents"].sum() == model.population.residents
    assert table["requests"].sum() == len(orders)
    assert "urgent_response_time_p90_min" in table.columns


def test_a_single_community_keeps_the_dense_space():
    model = VolunteerModel(
        days=1, rng=1, **{"population.residents": 300, "population.households": 120}
    )
    assert isinstance(model.layout.space, DenseSpace)
    assert model.layout.community_names == ("",)


def test_across_the_boundary_only_within_the_scenario_distance():
    closed = build_place_layout(two_communities(0.0), np.random.default_rng(0))
    opened = build_place_layout(two_communities(50.0), np.random.default_rng(0))
    community = closed.community
    a, b = np.flatnonzero(community == 0), np.flatnonzero(community == 1)
    across_closed = np.array([closed.space.distances_m_from(s, b) for s in a])
    across_open = np.array([opened.space.distances_m_from(s, b) for s in a])
    assert np.isinf(across_closed).all()
    finite = np.isfinite(across_open)
    assert finite.any() and (~finite).any()  # near the boundary only
    assert across_open[finite].max() <= 50.0


def test_layout_parquet_round_trip(tmp_path):
    layout = build_place_layout(two_communities(), np.random.default_rng(0))
    path = tmp_path / "layout.parquet"
    layout_table(layout).to_parquet(path, index=False)
    back = layout_from_table(pd.read_parquet(path))
    for name in (
        "stairwell_xy",
        "stairwell_building",
        "building_grid",
        "building_focal_count",
        "point_stairwell",
        "point_category",
        "point_open_hour",
        "point_close_hour",
        "community",
    ):
        assert np.array_equal(getattr(layout, name), getattr(back, name)), name
    assert back.community_names == layout.community_names
    assert np.array_equal(back.stairwell_xy_m, layout.stairwell_xy_m)
    table = pd.read_parquet(path)
    assert set(table["kind"]) == {"stairwell", "building", "grid", "point", "community"}


def test_run_out_stores_the_layout_and_per_community_tables(tmp_path, capsys):
    scenario = tmp_path / "district.toml"
    rows = two_communities().district.communities
    base = (ROOT / "scenarios" / "chaoyangli.toml").read_text(encoding="utf-8")
    text = district_toml(rows, base, "two", "two communities")
    scenario.write_text(text, encoding="utf-8")
    small = ["--set", "community.stairwells=30", "--set", "community.buildings=10"]
    small += ["--set", "community.grids=3", "--set", "community.service_points=20"]
    small += ["--set", "community.width_m=120.0", "--set", "community.height_m=120.0"]
    small += ["--set", "population.residents=400", "--set", "population.households=150"]
    out = tmp_path / "run"
    status = main(["run", str(scenario), "--days", "3", "--json", "--out", str(out), *small])
    stdout = capsys.readouterr().out
    assert status == 0
    assert "urgent_response_time_p90_min" in json.loads(stdout)
    communities = pd.read_parquet(out / "communities.parquet")
    assert communities["name"].tolist() == ["Chaoyangli", "Other"]
    layout = layout_from_table(pd.read_parquet(out / "layout.parquet"))
    assert len(layout.community_names) == 2


def test_heping_scenario_is_the_table_generated_and_matches_the_district_totals():
    rows = read_table(TABLE)
    assert len(rows) == 63
    assert sum(r.residents for r in rows) == 355_000
    assert math.isclose(sum(r.area_km2 for r in rows), 9.98, abs_tol=1e-6)
    registered = sum(r.residents * r.registered_share for r in rows)
    assert abs(registered - 70_000) < 100
    chaoyangli = [r for r in rows if r.name.startswith("Chaoyangli")]
    assert len(chaoyangli) == 1 and chaoyangli[0].residents == 4900
    assert all(r.source == "assumed" for r in rows if r is not chaoyangli[0])
    scenario = load(HEPING)
    assert scenario.district.communities == rows
    with HEPING.open("rb") as f:
        assert tomllib.load(f)["scenario"]["name"] == "heping-district"


@pytest.mark.parametrize("cross", [0.0, 30.0])
def test_district_layout_uses_the_kd_tree_and_no_dense_matrix(cross):
    layout = build_place_layout(two_communities(cross), np.random.default_rng(0))
    assert isinstance(layout.space, TreeSpace)
    assert not hasattr(layout.space, "_matrix")


def test_heping_is_laid_out_on_a_kd_tree_with_chaoyangli_findable():
    scenario = load(HEPING)
    layout = build_place_layout(scenario, np.random.default_rng(scenario.community.layout_seed))
    assert isinstance(layout.space, TreeSpace)
    assert len(layout.community_names) == 63
    assert sum("Chaoyangli" in name for name in layout.community_names) == 1
    assert 10_000 < layout.n_stairwells < 13_000


def test_an_experiment_on_a_district_reports_a_map_of_its_communities(tmp_path):
    """The runner and the report work on a district unchanged: the map is one box per
    community, coloured by its urgent p90, with Chaoyangli outlined and named."""
    from sim.experiment.design import load_experiment
    from sim.experiment.runner import RunOptions, run_experiment
    from sim.report import data, labels
    from sim.report.mapfig import DISTRICT_METRIC, community_map

    rows = two_communities().district.communities
    base = (ROOT / "scenarios" / "chaoyangli.toml").read_text(encoding="utf-8")
    (tmp_path / "district.toml").write_text(
        district_toml(rows, base, "two", "two communities"), encoding="utf-8"
    )
    small = {
        "community.stairwells": 30,
        "community.buildings": 10,
        "community.grids": 3,
        "community.service_points": 20,
        "community.width_m": 120.0,
        "community.height_m": 120.0,
        "population.residents": 400,
        "population.households": 150,
    }
    fixed = "\n".join(f'"{key}" = {value}' for key, value in small.items())
    (tmp_path / "exp.toml").write_text(
        f"""[experiment]
name = "two-communities"
scenario = "district.toml"
days = 5
seeds = 2
baseline_policy = "nearest"

[overrides]
{fixed}

[variables]
policy = ["nearest", "broadcast"]
""",
        encoding="utf-8",
    )
    out = tmp_path / "results"
    manifest = run_experiment(load_experiment(tmp_path / "exp.toml"), out, RunOptions(workers=1))
    assert manifest["failed_runs"] == 0
    results = data.load(out)
    per_run = results.policy_runs("nearest")[DISTRICT_METRIC]
    assert all(len(values) == 2 for values in per_run)  # one value per community
    for lang in ("en", "zh"):
        plot = community_map(results, lang)
        assert plot.figure is not None, plot.note
        texts = [t.get_text() for ax in plot.figure.axes for t in ax.texts]
        assert texts.count(labels.t(lang, "legend.highlight_community")) == len(results.policies)
        # one box per community in each policy's panel (baseline and best), then the colour bar
        panels = plot.figure.axes[:2]
        assert [len(ax.collections[0].get_paths()) for ax in panels] == [2, 2]
