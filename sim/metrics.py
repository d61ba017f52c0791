"""What a run measures: response times, service, coverage, workload, continuity, ratings.

Every function takes the per-order table (``OrderBook.table()``) and plain arrays, so the same
definitions serve a single run, the experiment runner and the report. Shares of orders use all
requests as the denominator: an unmet order was not served within 15 minutes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.orders import SERVED, UNMET

RESPONSE_QUANTILES = {"p50": 0.50, "p90": 0.90, "p95": 0.95}
#: the response-time target of the 15-minute volunteer service circle (15分钟志愿服务圈)
CIRCLE_MIN = 15.0


def gini(values: np.ndarray) -> float:
    """The Gini coefficient of non-negative values (0: all equal; 0 for an empty or zero set)."""
    x = np.sort(np.asarray(values, dtype=float))
    n, total = len(x), x.sum()
    if n == 0 or total == 0:
        return 0.0
    return float((2 * np.arange(1, n + 1) - n - 1) @ x / (n * total))


def continuity_share(table: pd.DataFrame) -> float:
    """Of served orders from elders served before, the share served by a familiar volunteer."""
    served = table[table["status"] == SERVED].sort_values("placed_min", kind="stable")
    repeat = served["elder"].duplicated()
    return float(served.loc[repeat, "familiar"].mean()) if repeat.any() else float("nan")


def order_metrics(table: pd.DataFrame) -> dict[str, float | int]:
    """Counts, response-time and wait statistics over a per-order table."""
    served = table["status"].to_numpy() == SERVED
    requests = len(table)
    response = table["response_min"].to_numpy()[served]
    result: dict[str, float | int] = {
        "requests": requests,
        "served": int(served.sum()),
        "unmet": int((table["status"].to_numpy() == UNMET).sum()),
        "response_time_mean_min": float(response.mean()) if len(response) else float("nan"),
    }
    for name, q in RESPONSE_QUANTILES.items():
        value = float(np.quantile(response, q)) if len(response) else float("nan")
        result[f"response_time_{name}_min"] = value
    wait = table["wait_min"].to_numpy()[served]
    result["wait_mean_min"] = float(wait.mean()) if len(wait) else float("nan")
    for limit in (int(CIRCLE_MIN), 2 * int(CIRCLE_MIN)):
        share = float((response <= limit).sum() / requests) if requests else float("nan")
        result[f"served_within_{limit}min_share"] = share
    result["continuity_share"] = continuity_share(table)
    ratings = table["rating"].to_numpy()[served]
    result["rating_mean"] = float(ratings.mean()) if len(ratings) else float("nan")
    return result


def workload_metrics(served_count: np.ndarray, workers: np.ndarray) -> dict[str, float | int]:
    """Gini and maximum of orders served, over ``workers`` (active or having served)."""
    counts = served_count[workers]
    return {
        "workload_gini": gini(counts),
        "workload_max_orders": int(counts.max()) if len(counts) else 0,
    }


def breakdown(table: pd.DataFrame, area_of_elder: np.ndarray, area: str) -> pd.DataFrame:
    """Per-area (grid or building) requests, unmet share and response-time statistics."""
    frame = table.assign(**{area: area_of_elder[table["elder"].to_numpy()]})
    frame["is_served"] = frame["status"] == SERVED
    frame["is_unmet"] = frame["status"] == UNMET
    grouped = frame.groupby(area)
    served = frame[frame["is_served"]].groupby(area)["response_min"]
    return pd.DataFrame(
        {
            "requests": grouped.size(),
            "served": grouped["is_served"].sum(),
            "unmet_share": grouped["is_unmet"].mean(),
            "response_time_mean_min": served.mean(),
            "response_time_p90_min": served.quantile(0.9),
        }
    ).reset_index()
