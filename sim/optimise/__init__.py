"""``volsim optimise``: search the levers a community controls (service point sites, where and
how many to recruit, broadcast k and radius, pairing distance and load) for the best headline
metrics, every candidate on the same seeds, the best re-checked on fresh seeds.

``levers`` parses levers and objectives, ``study`` holds the search and its SQLite study,
``search`` runs it through the experiment runner, ``tables`` writes its tables,
and ``poisson`` is the Poisson model of van den Berg et al. (2025) it is compared with.
"""

from sim.optimise.levers import LEVER_KEYS, parse_levers, parse_objectives
from sim.optimise.search import Search, default_out, run_search

__all__ = [
    "LEVER_KEYS",
    "Search",
    "default_out",
    "parse_levers",
    "parse_objectives",
    "run_search",
]
