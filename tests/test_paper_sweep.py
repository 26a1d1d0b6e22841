"""configs/sweeps/paper_comparison.toml (and its --quick cut): the sweep file parses and expands
to the expected cells, every cell's config is valid, and the methods absent from each setting
(its "n/a" cells in docs/paper_comparison.md) are exactly those that refuse the setting.
Nothing is run."""

from __future__ import annotations

import importlib.util
import itertools
import math
import os
import sys

import pytest

from dadao import problems
from dadao.algorithms import get_algorithm
from dadao.setup import is_synchronous

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "simulations", "paper_comparison.py")
STATIC = ("star", "complete", "cycle", "path", "grid_2d", "barbell", "random_geometric")
#: the "n/a" cells of the one-seed script's table: static graphs only, and the dual methods
#: (they need grad f_i^*) on least squares only
NOT_APPLICABLE = {("least_squares", False): set(),
                  ("least_squares", True): {"continuized", "msda", "opapc", "extra"},
                  ("logistic", False): {"continuized", "msda"},
                  ("logistic", True): {"continuized", "msda", "opapc", "extra"}}


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("paper_comparison", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


@pytest.fixture(scope="module")
def full(script):
    """(key, seed, path) of every cell of the full sweep; expanding checks every config."""
    return script.sweep_cells(script.SWEEP, out="unused")


@pytest.fixture(scope="module")
def quick(script):
    return script.sweep_cells(script.QUICK_SWEEP, out="unused")


def refuses(method: str, problem: str, time_varying: bool) -> bool:
    """Whether the method refuses the setting, from its own declarations: a time-varying list
    without ``supports_time_varying``, a problem without grad f_i^* for a method that needs it
    (the Continuized method, the synchronous methods of the conjugate oracle)."""
    algo = get_algorithm(method)
    if time_varying and not algo.supports_time_varying:
        return True
    needs_conjugate = method == "continuized" or (
        is_synchronous(algo) and getattr(algo, "oracle", None) == "conjugate")
    maker = problems.least_squares if problem == "least_squares" else problems.logistic
    return needs_conjugate and not maker(4, 2, samples_per_node=3, seed=0).has_conjugate


def test_full_sweep_has_every_valid_cell_of_three_seeds(script, full):
    # per (problem, n): least squares 7 x 10 + 6, logistic 7 x 8 + 6; n = 16, 64; 3 seeds
    assert len(full) == (76 + 62) * 2 * 3 == 828
    assert len({path for _, _, path in full}) == len(full)
    seeds = {}
    for key, seed, _ in full:
        seeds.setdefault(key, []).append(seed)
    assert all(sorted(s) == [0, 1, 2] for s in seeds.values())
    settings = {key[:3] for key in seeds}
    assert settings == set(itertools.product(("least_squares", "logistic"), (16, 64),
                                             STATIC + ("time_varying",)))


@pytest.mark.parametrize("which", ["full", "quick"])
def test_absent_methods_are_the_na_cells(script, request, which):
    cells = request.getfixturevalue(which)
    absent = script.absent_methods(key for key, _, _ in cells)
    for (problem, n, graph), methods in absent.items():
        time_varying = graph == "time_varying"
        assert methods == NOT_APPLICABLE[(problem, time_varying)], (problem, n, graph)
        assert methods == {m for m in script.METHODS if refuses(m, problem, time_varying)}


def test_quick_sweep_is_the_seed_0_cells_of_three_settings_at_n_16(full, quick):
    assert len(quick) == 48
    wanted = {(key, os.path.basename(path)) for key, seed, path in full
              if seed == 0 and key[1] == 16 and key[2] in ("star", "cycle", "time_varying")}
    assert {(key, os.path.basename(path)) for key, _, path in quick} == wanted


def test_cells_match_the_former_scripts_settings(script):
    """The configs are those of the former one-seed script (d = 5, 50 samples per node,
    t_max 5000, sampling every 0.5 or every iteration, K = 50), its seed 0 being seed 0's,
    and the data follow the seed."""
    from dadao import config
    from dadao.sweeps import cells as cellmod
    from dadao.sweeps import spec as specmod

    spec = specmod.read(script.SWEEP, out="unused")
    with cellmod.base_file(spec) as base:
        for cell in cellmod.expand(spec, base):
            cfg = config.load(base, sets=cell.sets, seed=cell.run_seed)
            synchronous = is_synchronous(get_algorithm(cfg["algorithm"]["name"]))
            assert cfg["problem"]["dim"] == 5 and cfg["problem"]["samples_per_node"] == 50
            assert cfg["problem"]["seed"] == cfg["run"]["seed"] == cell.seed
            if cfg["graph"]["family"] == "random_geometric":
                assert cfg["graph"]["seed"] == cell.seed
            assert cfg["graph"]["time_varying"] in (0, 50)
            assert cfg["run"]["t_max"] == 5000.0
            assert cfg["run"]["log_every"] == (1.0 if synchronous else 0.5)
            assert cfg["rates"]["kind"] == "auto"


def test_the_summary_is_computed_from_the_medians(script):
    """The summary's numbers on made-up counts: medians over three seeds, ratios, "every" or
    "k of m" counted, the settings where a method does not need fewer named."""
    def result(method, graph, gradients, communications):
        key = ("least_squares", 16, graph, method)
        counts = {}
        for axis, values in (("gradients", gradients), ("communications", communications)):
            for level in script.LEVELS:
                counts[(axis, level)] = list(values)
        return key, script.Result(key, counts=counts, statuses=["completed"] * 3)

    results = dict([
        result("dadao", "star", [2900, 3000, 3500], [3000] * 3),
        result("dadao", "cycle", [3200] * 3, [5000, 6000, 6100]),
        result("continuized", "star", [1500, 1400, 1600], [300] * 3),
        result("continuized", "cycle", [1600] * 3, [1000] * 3),
        result("msda", "star", [300] * 3, [math.inf] * 3),  # never reached: not compared
        result("msda", "cycle", [6400] * 3, [2000] * 3),
    ])
    lay = script.Layout(methods=["dadao", "continuized", "msda"], graphs=["star", "cycle"],
                        problems=["least_squares"], ns=[16], seeds=[0, 1, 2], command="",
                        sweep_path="", timing=None, ran=0, skipped=0, run_seconds=0.0)
    text = script.summary(results, lay)
    assert "3k-3.2k on every graph of least squares at n = 16" in text
    assert ("The Continuized method needs 2.0x fewer gradients than DADAO on every static "
            "least-squares graph.") in text
    assert ("The Continuized method needs 6.0x-10x fewer communications than DADAO on every "
            "static least-squares graph.") in text
    assert ("MSDA needs 10x fewer gradients than DADAO on 1 of 2 static graphs (not on cycle "
            "at n = 16).") in text
    assert "MSDA needs 3.0x fewer communications than DADAO on every static graph." in text
