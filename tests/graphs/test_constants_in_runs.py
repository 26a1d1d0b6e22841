"""graph.constants in a config, the setup and meta.json: the estimate's record, and DADAO's
condition kept for the true constants when the estimate's upper ends scale the rates."""

import json

import pytest

from dadao import config, problems
from dadao.errors import ConfigError
from dadao.graphs import edge_array, make_graph, rate_constants
from dadao.setup import prepare

BASE = {"graph": {"family": "random_geometric", "n": 240, "seed": 1},
        "problem": {"kind": "least_squares", "dim": 2, "samples_per_node": 5},
        "run": {"t_max": 1.0}}


def test_the_key_is_optional_checked_and_kept():
    cfg = config.validate(json.loads(json.dumps(BASE)), "c.toml")
    assert "constants" not in cfg["graph"]  # left out: older configs keep their hash
    raw = json.loads(json.dumps(BASE))
    raw["graph"]["constants"] = "estimate"
    assert config.validate(raw, "c.toml")["graph"]["constants"] == "estimate"
    raw["graph"]["constants"] = "fastest"
    with pytest.raises(ConfigError) as info:
        config.validate(raw, "c.toml")
    text = str(info.value)
    assert "graph.constants" in text and "\n" not in text


@pytest.mark.parametrize("mode", ["estimate", "exact"])
def test_theory_rates_meet_the_condition_for_the_true_constants(mode):
    G = make_graph("random_geometric", 240, seed=1)
    problem = problems.least_squares(240, 2, samples_per_node=5, seed=0)
    setup = prepare(G, problem, algorithm="dadao", rates="theory", t_max=1.0, constants=mode)
    record = setup.describe()["graph"]["constants_record"]
    assert len(record) == 1 and record[0]["method"] == ("estimate" if mode == "estimate"
                                                        else "dense")
    edges = edge_array(G)
    true = rate_constants(edges, setup.args.edge_rates, 240, method="dense")
    product = true["chi_1"] * true["chi_2"]
    assert product <= 0.5 * (1 + 1e-12)
    # the estimate's upper ends cost at most their interval widths (about 1e-5) of rate
    assert product >= 0.5 * (1 - 1e-4)
    assert setup.condition.satisfied
    json.dumps(setup.describe())  # the record is plain JSON
