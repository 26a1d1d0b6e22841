"""The event loops are cached across processes, and never stale (issue 15, deliverable 1).

Each method's loops are a module generated into numba's cache folder (``dadao.engines.codegen``):
a second process must load the compiled loop instead of compiling it, a changed source of a
function the loop calls must give another module (numba's cache would not notice the change), a
damaged file is rewritten, and where nothing is writable the loops still run, uncached.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np

from dadao import numba_cache
from dadao.engines import codegen

#: a real loop on a two-node network: one gossip event of randomized gossip on edge (0, 1)
GOSSIP_SCRIPT = """
import json, sys
import numpy as np
from dadao.algorithms import get_algorithm
from dadao.algorithms.randomized_gossip import GossipConstants
from dadao.engines import kernels
from dadao.problems.oracle import make_oracle

loop = kernels.event_loop(get_algorithm("randomized_gossip"))
state = np.array([[[1.0, -2.0]], [[3.0, 4.0]]])
tau, counts = np.zeros(2), np.zeros(2, dtype=np.int64)
loop(np.array([0.5]), np.array([2]), 2, np.array([[0, 1]]), state, tau,
     GossipConstants(1.0, 1.0), make_oracle(0), counts)
print(json.dumps({"state": state.ravel().tolist(), "tau": tau.tolist(),
                  "counts": counts.tolist(), "hits": sum(loop.stats.cache_hits.values()),
                  "misses": sum(loop.stats.cache_misses.values()),
                  "file": sys.modules[loop.py_func.__module__].__file__}))
"""

#: a template of one loop calling a method's flow, for a method whose source the test changes
TEMPLATE = """
import numba
from dadao.engines.codegen import inlined

flow = inlined(_flow)


@numba.njit(cache=CACHE)
def probe(s):
    flow(s, 3.0, 0.0)
"""

FAKE_METHOD = """
import numba

SCALE = {scale}


@numba.njit(cache=True)
def flow(s, dt, k):
    s[0, 0] = SCALE * dt
"""


def test_a_second_process_loads_the_compiled_loop():
    """This process compiles the loop (or loads it), where numba caches by default for this
    session; a new process then finds it compiled."""
    exec(GOSSIP_SCRIPT.replace("print(", "here = ("), namespace := {})
    here = namespace["here"]
    done = subprocess.run([sys.executable, "-c", GOSSIP_SCRIPT], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    there = json.loads(done.stdout.splitlines()[-1])
    # one averaging: (1, -2) and (3, 4) both become (2, 1), at the event's time
    for out in (json.loads(here), there):
        assert out["state"] == [2.0, 1.0, 2.0, 1.0]
        assert out["tau"] == [0.5, 0.5] and out["counts"] == [0, 1]
    assert (there["misses"], there["hits"]) == (0, 1)  # loaded, nothing compiled
    assert there["file"] == json.loads(here)["file"]
    assert os.path.basename(os.path.dirname(there["file"])) == numba_cache.GENERATED


def test_a_changed_callee_gives_a_new_module_and_a_damaged_one_is_rewritten(tmp_path,
                                                                             monkeypatch):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "cache"))
    algo, method = _fake_algorithm(tmp_path, monkeypatch, "fake_method_changed")
    module = codegen.kernel_module(algo, TEMPLATE)
    assert _probe(module) == 3.0
    path, text = module.__file__, open(module.__file__).read()
    assert os.path.dirname(path) == str(tmp_path / "cache" / numba_cache.GENERATED)
    with open(path, "w") as fh:  # a file cut short (a full disk, say)
        fh.write(text[:20])
    monkeypatch.delitem(sys.modules, module.__name__)  # as in a new process
    again = codegen.kernel_module(algo, TEMPLATE)
    assert again.__file__ == path and open(path).read() == text
    # numba's cache of the loop would not see this change: the module's name does
    # (another length: Python's bytecode cache, checked by size and mtime, cannot be stale)
    (tmp_path / "fake_method_changed.py").write_text(FAKE_METHOD.format(scale=20.0))
    algo.flow = importlib.reload(method).flow
    changed = codegen.kernel_module(algo, TEMPLATE)
    assert changed.__file__ != path and _probe(changed) == 60.0
    generated = tmp_path / "cache" / numba_cache.GENERATED
    assert sorted(generated.glob("*.py")) == sorted(map(Path, (path, changed.__file__)))


def _probe(module) -> float:
    s = np.zeros((1, 1))
    module.probe(s)
    return s[0, 0]


def _fake_algorithm(tmp_path, monkeypatch, name, scale=1.0):
    """(a method whose flow is s[0, 0] = scale dt, defined in the module ``name``, that
    module)."""
    (tmp_path / f"{name}.py").write_text(FAKE_METHOD.format(scale=scale))
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module(name)
    algo = types.SimpleNamespace(name="fake", **dict.fromkeys(codegen.ROLES))
    algo.flow = module.flow
    return algo, module


def test_nothing_writable_runs_the_loops_uncached(tmp_path, monkeypatch):
    algo, _ = _fake_algorithm(tmp_path, monkeypatch, "fake_method_unwritable", scale=5.0)
    monkeypatch.setattr(numba_cache, "generated_folder", lambda environ=None: None)
    before = sorted(tmp_path.rglob("*"))
    module = codegen.kernel_module(algo, TEMPLATE)
    assert _probe(module) == 15.0
    assert getattr(module, "__file__", None) is None
    assert sorted(tmp_path.rglob("*")) == before


def test_a_method_not_importable_by_name_runs_uncached(tmp_path, monkeypatch):
    """Functions made at run time (a closure of a script): another process could not import
    them, so nothing is written."""
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "cache"))
    import numba

    scale = 7.0

    @numba.njit
    def flow(s, dt, k):
        s[0, 0] = scale * dt

    algo = types.SimpleNamespace(name="closure", **dict.fromkeys(codegen.ROLES))
    algo.flow = flow
    module = codegen.kernel_module(algo, TEMPLATE)
    assert _probe(module) == 21.0
    assert getattr(module, "__file__", None) is None
    assert not (tmp_path / "cache").exists()


def test_inlining_keeps_options_that_change_the_arithmetic():
    """A function compiled with fast-math is called, not inlined into the loop (whose
    arithmetic is strict): its numbers stay its own."""
    import numba

    @numba.njit(fastmath=True)
    def fast(x):
        return x

    @numba.njit
    def strict(x):
        return x

    assert codegen.inlined(fast) is fast
    copy = codegen.inlined(strict)
    assert copy is not strict and copy.targetoptions["inline"] == "always"
    assert copy.py_func.__code__ is strict.py_func.__code__
    assert codegen.inlined(strict) is copy  # one copy per function and process
