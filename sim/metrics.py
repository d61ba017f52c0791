"""What a run measures: service per urgency, response times, coverage, burden, continuity, ratings.

Every function takes the per-order table (``OrderBook.table()``) and plain arrays, so the same
definitions serve a single run, the experiment runner and the report. Shares of orders use all
requests (of that urgency, or of those elders) as the denominator.

The headline measures are per urgency (sim.needs): the share served within its window, the
unmet share, and for urgent orders the response time from placing to arrival. The older keys
(``response_time_*``, ``served_within_*``) keep their meaning, over all orders from placing, for
one release; with scheduled visits booked days ahead they measure booking, not service.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.orders import SERVED, UNMET
from sim.scenario import URGENCIES

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


def _share(numerator: int, denominator: int) -> float:
    return float(numerator / denominator) if denominator else float("nan")


def _window_metrics(table: pd.DataFrame, prefix: str) -> dict[str, float | int]:
    served = table["status"].to_numpy() == SERVED
    on_time = served & (table["release_response_min"].to_numpy() <= table["window_min"].to_numpy())
    n = len(table)
    return {
        f"{prefix}_requests": n,
        f"{prefix}_within_window_share": _share(int(on_time.sum()), n),
        f"{prefix}_unmet_share": _share(int((table["status"].to_numpy() == UNMET).sum()), n),
    }


def urgency_metrics(table: pd.DataFrame, pair_stage: int) -> dict[str, float | int]:
    """The headline measures per urgency, for eligible elders' orders (those 花甲助耄耋 pairs:
    80+, alone or empty nest), and the share of their orders a paired helper served (accepted at
    the chain's stage ``pair_stage``, the pairing policy; -1 if it has none)."""
    table = table.assign(window_min=table["due_min"] - table["release_min"])
    urgency = table["urgency"].to_numpy()
    result: dict[str, float | int] = {}
    for u, name in enumerate(URGENCIES):
        result.update(_window_metrics(table[urgency == u], name))
    urgent = table[(urgency == URGENCIES.index("urgent")) & (table["status"] == SERVED)]
    response = urgent["response_min"].to_numpy()
    for name, q in RESPONSE_QUANTILES.items():
        value = float(np.quantile(response, q)) if len(response) else float("nan")
        result[f"urgent_response_time_{name}_min"] = value
    scheduled = table[urgency == URGENCIES.index("scheduled")]
    lead = scheduled["lead_min"].to_numpy()
    result["scheduled_lead_time_mean_h"] = float(lead.mean() / 60) if len(lead) else float("nan")
    eligible = table[table["eligible"].to_numpy()]
    result.update(_window_metrics(eligible, "eligible"))
    by_pair = (eligible["status"] == SERVED) & (eligible["served_stage"] == pair_stage)
    result["eligible_served_by_pair_share"] = _share(int(by_pair.sum()), len(eligible))
    return result


def yearly_workload(table: pd.DataFrame, months: float = 12.0) -> dict[str, float]:
    """Who carried one year's services (``table``: that year's orders): services per helper
    (a volunteer who served that year) per month, and the busiest tenth of helpers' share."""
    served = table["volunteer"].to_numpy()[table["status"].to_numpy() == SERVED]
    counts = np.sort(np.unique(served, return_counts=True)[1])[::-1]
    if not len(counts):
        return {
            "orders_per_helper_per_month": float("nan"),
            "top_decile_served_share": float("nan"),
        }
    return {
        "orders_per_helper_per_month": float(counts.sum() / len(counts) / months),
        "top_decile_served_share": _share(
            int(counts[: max(1, len(counts) // 10)].sum()), int(counts.sum())
        ),
    }


def burden_metrics(
    served_count: np.ndarray, busy_min: np.ndarray, budget_min: np.ndarray, months: float
) -> dict[str, float]:
    """Who carries the work: utilisation of the hours volunteers pledged (their weekly budgets),
    of all and of the busiest tenth, the share of services by the busiest tenth, and services
    per helper (a volunteer who served at least once) per month."""
    pledged = np.flatnonzero(budget_min > 0)
    if len(pledged) == 0 or not np.isfinite(budget_min[pledged]).all():
        utilisation = top_utilisation = float("nan")
    else:
        utilisation = float(busy_min[pledged].sum() / budget_min[pledged].sum())
        order = pledged[np.argsort(-busy_min[pledged], kind="stable")]
        top = order[: max(1, len(order) // 10)]
        top_utilisation = float(busy_min[top].sum() / budget_min[top].sum())
    helpers = np.flatnonzero(served_count > 0)
    counts = np.sort(served_count[helpers])[::-1]
    top_share = _share(int(counts[: max(1, len(counts) // 10)].sum()), int(counts.sum()))
    per_month = _share(int(counts.sum()), len(helpers)) / months if months else float("nan")
    return {
        "budget_utilisation": utilisation,
        "busiest_decile_utilisation": top_utilisation,
        "top_decile_served_share": top_share if len(helpers) else float("nan"),
        "orders_per_helper_per_month": per_month if len(helpers) else float("nan"),
    }
