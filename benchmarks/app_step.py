"""How long the page takes for one simulated day: the model's step and the map's and plots' charts.

Builds the Chaoyangli page's model and renderer (sim/viz.py, sim/app.py's plots), then times
steps of one simulated day: ``model.step()`` plus drawing the map (structure, stairwell layer,
agents) and the four plots as Altair charts and turning them into the JSON the browser gets.
Prints the median (target: under 1 s). Needs the app extra (pip install -e '.[app]').
"""

from __future__ import annotations

import statistics
import time

import altair as alt

from sim.viz import PLOTS, CommunityRenderer, WatchedModel

SCENARIO = "scenarios/chaoyangli.toml"
WARMUP_DAYS, TIMED_DAYS = 5, 30


def frame(model: WatchedModel, renderer: CommunityRenderer) -> None:
    """One step and everything the page draws after it."""
    model.step()
    charts = [renderer.draw_structure(), renderer.draw_propertylayer(), renderer.draw_agents()]
    alt.layer(*charts).to_dict()
    table = model.datacollector.get_model_vars_dataframe().reset_index(names="Step")
    for measure in PLOTS:
        alt.Chart(table).mark_line().encode(x="Step:Q", y=f"{measure}:Q").to_dict()


def main() -> None:
    model = WatchedModel(SCENARIO, policy="pairing", rng=42)
    renderer = CommunityRenderer(model).render()
    for _ in range(WARMUP_DAYS):
        frame(model, renderer)
    seconds = []
    for _ in range(TIMED_DAYS):
        started = time.perf_counter()
        frame(model, renderer)
        seconds.append(time.perf_counter() - started)
    median = statistics.median(seconds)
    print(
        f"app step (one simulated day + render), Chaoyangli: median {median:.3f} s, "
        f"max {max(seconds):.3f} s over {TIMED_DAYS} days (target < 1 s)"
    )


if __name__ == "__main__":
    main()
