"""A catalogue of user mistakes: every command, every config section, every kind of file.

Each case is a small record: the command line, the files it finds in its working folder and the
text the error line must name (the field, the flag or the file). Every case is called in process
(``dadao.cli.main``) from an empty folder holding only its files, and must end the way the README
promises for a mistake in the input: exit code 2, exactly one line on stderr,
"dadao COMMAND: error: ...", naming what is wrong; no traceback, nothing on stdout that looks
like a result, and nothing written in the folder (no runs/, no output file, no leftover).

A UTF-8 byte order mark is not a mistake by itself: those files must either work as without it,
or be refused in one line that says so, in words or as the character ``\ufeff``
(``test_a_byte_order_mark_works_or_is_named``).

Huge inputs (a cycle of 1e9 nodes, ...) must be refused before anything is allocated: those
cases run under a cap on the address space, so that a defect shows as a MemoryError instead of
taking the machine's memory, and under an alarm, so that a case never hangs the suite.
"""

from __future__ import annotations

import json
import os
import resource
import signal
from dataclasses import dataclass, field

import pytest

from dadao import cli
from helpers import listing

#: a file entry of a case that is a folder, or a named pipe (FIFO), instead of a file
DIR = "<dir>"
FIFO = "<fifo>"

#: seconds a case may take before it counts as a hang (a FIFO opened for reading blocks)
ALARM_S = 60  # a hang detector, not a speed test: a cold numba compile under load fits
#: address space a guarded case may add to the process before allocations fail
GUARD_BYTES = 768 << 20


@dataclass(frozen=True)
class Mistake:
    """One user mistake: ``argv`` of ``dadao``, run in a folder that holds ``files`` (name ->
    text, bytes, DIR or FIFO); the error line must contain every text of ``expect`` and none of
    ``forbid``. ``guard``: a huge input, run under a cap on memory."""

    id: str
    argv: tuple
    files: dict = field(default_factory=dict)
    expect: tuple = ()
    forbid: tuple = ()
    guard: bool = False


# --- the base config and the files cases share ------------------------------------------------

BASE = {
    "graph": {"family": '"cycle"', "n": "8"},
    "problem": {"kind": '"least_squares"', "dim": "3", "samples_per_node": "20"},
    "algorithm": {"name": '"dadao"'},
    "rates": {"kind": '"auto"'},
    "run": {"t_max": "10.0", "log_every": "1.0", "seed": "0"},
}


def config(edits=None, extra="") -> str:
    """The base config with ``edits``: {"section.key": TOML literal, or None to remove it;
    "section": {key: literal} to replace a whole section, or None to remove it}; ``extra`` is
    appended as it is."""
    sections = {s: dict(body) for s, body in BASE.items()}
    for target, value in (edits or {}).items():
        if "." not in target:
            if value is None:
                sections.pop(target, None)
            else:
                sections[target] = dict(value)
            continue
        section, key = target.split(".", 1)
        body = sections.setdefault(section, {})
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    lines = []
    for section, body in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{k} = {v}" for k, v in body.items()]
    return "\n".join(lines) + "\n" + extra


def cycle_csv(n=8, rate="2.0", rows=None) -> str:
    """Rates CSV of the n-cycle (edge_array order), every rate ``rate``; ``rows`` replaces the
    data rows."""
    edges = sorted(tuple(sorted((i, (i + 1) % n))) for i in range(n))
    body = rows if rows is not None else [f"{u},{v},{rate}" for u, v in edges]
    return "u,v,rate\n" + "\n".join(body) + "\n"


def cycle_costs_csv(n=8, cost="1.0", rows=None, header="u,v,cost") -> str:
    """Costs CSV of the n-cycle, every cost ``cost`` seconds; ``rows`` replaces the data rows."""
    edges = sorted(tuple(sorted((i, (i + 1) % n))) for i in range(n))
    body = rows if rows is not None else [f"{u},{v},{cost}" for u, v in edges]
    return header + "\n" + "\n".join(body) + "\n"


#: the 8-cycle's costs with the first data row (line 2, edge (0, 1)) costing 0 s
COSTS_ZERO = cycle_costs_csv().replace("0,1,1.0", "0,1,0.0")
#: the 8-cycle's costs and a row for (0, 4), not an edge, on line 10
COSTS_NON_EDGE = cycle_costs_csv() + "0,4,1.0\n"
TRIANGLE = "0 1\n1 2\n2 0\n"
#: 16 samples, two labels, two features
SVM = "".join(f"{1 if i % 2 else -1} 1:{0.1 * i + 0.3:.2f} 2:{1.0 - 0.05 * i:.2f}\n"
              for i in range(16))
META_OK = json.dumps({"status": "completed", "graph": {"family": "cycle", "n": 8},
                      "algorithm": {"name": "dadao"}, "config_hash": "0123456789"})
TRACE_OK = ("time,gradients,communications,dist_to_opt,suboptimality,consensus\n"
            "0.0,0.0,0.0,1.0,1.0,0.5\n1.0,8.0,12.0,0.5,0.4,0.2\n2.0,16.0,24.0,0.25,0.2,0.1\n")
JUNK = bytes(range(256)) * 4
BOM = b"\xef\xbb\xbf"


def run_case(id, edits=None, expect=(), *, files=None, extra="", argv=(), dry=True, forbid=(),
             guard=False, named=True) -> Mistake:
    """``dadao run c.toml [--dry-run] ARGV`` with the base config edited; ``named``: the error
    line names the config file (not for mistakes in the flags)."""
    return Mistake(id, ("run", "c.toml", *(("--dry-run",) if dry else ()), *argv),
                   {"c.toml": config(edits, extra), **(files or {})},
                   ("c.toml",) * named + tuple(expect), tuple(forbid), guard)


def flag_case(id, argv, expect, *, edits=None, dry=True, files=None) -> Mistake:
    """A mistake in the flags of ``dadao run c.toml``: the line need not name the config."""
    return run_case(id, edits, expect, argv=argv, dry=dry, files=files, named=False)


def libsvm_case(id, data, expect=(), **problem) -> Mistake:
    body = {"kind": '"libsvm"', "path": '"d.svm"', **problem}
    return run_case(id, {"problem": body}, ("d.svm",) + tuple(expect),
                    files={"d.svm": data})


def costs_case(id, csv, expect=()) -> Mistake:
    return run_case(id, {"rates": {"kind": '"sdp"', "costs_path": '"k.csv"'}},
                    ("rates.costs_path", "k.csv") + tuple(expect), files={"k.csv": csv})


def explicit_case(id, csv, expect=()) -> Mistake:
    return run_case(id, {"rates": {"kind": '"explicit"', "path": '"r.csv"'}},
                    ("r.csv",) + tuple(expect), files={"r.csv": csv})


def file_graph_case(id, data, expect=()) -> Mistake:
    return run_case(id, {"graph": {"family": '"file"', "path": '"e.txt"'}},
                    ("e.txt",) + tuple(expect), files={"e.txt": data})


def plot_case(id, files, expect, argv=("r",)) -> Mistake:
    return Mistake(id, ("plot", *argv), files, tuple(expect))


def run_dir(meta=META_OK, trace=TRACE_OK, name="r") -> dict:
    out = {name: DIR}
    if meta is not None:
        out[f"{name}/meta.json"] = meta
    if trace is not None:
        out[f"{name}/trace.csv"] = trace
    return out


def collect_case(id, files, expect, argv) -> Mistake:
    return Mistake(id, ("collect", *argv), files, tuple(expect))


def sweep_case(id, grid, expect, argv=()) -> Mistake:
    """``dadao sweep s.toml ARGV``: a sweep of the base config c.toml with ``grid`` (the TOML
    text after [sweep]); the line names the sweep file."""
    return Mistake(id, ("sweep", "s.toml", *argv),
                   {"s.toml": '[sweep]\nbase = "c.toml"\n' + grid, "c.toml": config()},
                   ("s.toml",) + tuple(expect))


#: a run directory `dadao collect` finds: run_dir() and its config.toml
COLLECT_RUN = {**run_dir(), "r/config.toml": config()}


# --- the catalogue --------------------------------------------------------------------------

CASES = [
    # -- the config file itself --
    Mistake("config-missing", ("run", "missing.toml", "--dry-run"), {}, ("missing.toml",)),
    Mistake("config-is-a-directory", ("run", "cfg.toml", "--dry-run"), {"cfg.toml": DIR},
            ("cfg.toml",), ("not found",)),
    Mistake("config-is-a-fifo", ("run", "fifo.toml", "--dry-run"), {"fifo.toml": FIFO},
            ("fifo.toml",), ("not found",)),
    Mistake("config-empty", ("run", "c.toml", "--dry-run"), {"c.toml": ""},
            ("c.toml", "graph.family")),
    Mistake("config-binary-junk", ("run", "c.toml", "--dry-run"), {"c.toml": JUNK},
            ("c.toml",)),
    Mistake("config-invalid-toml", ("run", "c.toml", "--dry-run"),
            {"c.toml": config({"graph.n": ""})}, ("c.toml",)),
    Mistake("config-duplicate-key", ("run", "c.toml", "--dry-run"),
            {"c.toml": config(extra="[graph]\nn = 9\n")}, ("c.toml",)),
    Mistake("config-key-outside-any-section", ("run", "c.toml", "--dry-run"),
            {"c.toml": "t_max = 10.0\n" + config()}, ("c.toml", "t_max")),
    Mistake("config-section-is-a-value", ("run", "c.toml", "--dry-run"),
            {"c.toml": "graph = 5\n" + config({"graph": None})}, ("c.toml", "graph")),
    Mistake("config-section-is-an-array-of-tables", ("run", "c.toml", "--dry-run"),
            {"c.toml": config({"run": None}, "[[run]]\nt_max = 10.0\n")}, ("c.toml", "run")),
    run_case("section-unknown-typo", None, ("[grpah]", "did you mean 'graph'"),
             extra="[grpah]\nn = 3\n"),
    run_case("section-unknown-engine-section", None, ("[mpi]",), extra="[mpi]\nranks = 4\n"),
    # -- [graph] --
    run_case("graph-famly-typo", {"graph.family": None, "graph.famly": '"cycle"'},
             ("graph.famly", "did you mean 'family'")),
    run_case("graph-family-missing", {"graph.family": None}, ("graph.family", "required")),
    run_case("graph-family-typo-value", {"graph.family": '"cylce"'},
             ("graph.family", "did you mean 'cycle'")),
    run_case("graph-family-int", {"graph.family": "3"}, ("graph.family",)),
    run_case("graph-family-array", {"graph.family": '["cycle"]'}, ("graph.family",)),
    run_case("graph-n-missing", {"graph.n": None}, ("graph.n", "required")),
    run_case("graph-n-string", {"graph.n": '"8"'}, ("graph.n",)),
    run_case("graph-n-float", {"graph.n": "8.0"}, ("graph.n",)),
    run_case("graph-n-bool", {"graph.n": "true"}, ("graph.n",)),
    run_case("graph-n-negative", {"graph.n": "-4"}, ("graph.n",)),
    run_case("graph-n-one", {"graph.n": "1"}, ("graph.n",)),
    run_case("graph-n-array", {"graph.n": "[8]"}, ("graph.n",)),
    run_case("graph-n-inf", {"graph.n": "inf"}, ("graph.n",)),
    run_case("graph-n-inline-table", {"graph.n": "{ value = 8 }"}, ("graph.n",)),
    run_case("graph-cycle-n-2", {"graph.n": "2"}, ("graph",)),
    run_case("graph-n-other-name", {"graph.n": None, "graph.nodes": "8"}, ("graph.nodes",)),
    run_case("graph-hypercube-n-24", {"graph.family": '"hypercube"', "graph.n": "24"},
             ("graph", "power of 2")),
    run_case("graph-grid-rows-cols-product", {"graph.family": '"grid_2d"', "graph.n": "16",
                                              "graph.rows": "3", "graph.cols": "5"},
             ("graph",)),
    run_case("graph-grid-rows-zero", {"graph.family": '"grid_2d"', "graph.n": "16",
                                      "graph.rows": "0"}, ("graph.rows",)),
    run_case("graph-grid-rows-string", {"graph.family": '"grid_2d"', "graph.n": "16",
                                        "graph.rows": '"four"'}, ("graph.rows",)),
    run_case("graph-torus-rows-2", {"graph.family": '"torus_2d"', "graph.n": "16",
                                    "graph.rows": "2", "graph.cols": "8"}, ("graph.rows",)),
    run_case("graph-barbell-n-odd", {"graph.family": '"barbell"', "graph.n": "7"},
             ("graph",)),
    run_case("graph-erdos-renyi-p-0", {"graph.family": '"erdos_renyi"', "graph.p": "0.0"},
             ("graph.p",)),
    run_case("graph-erdos-renyi-p-above-1", {"graph.family": '"erdos_renyi"', "graph.p": "1.5"},
             ("graph.p",)),
    run_case("graph-erdos-renyi-p-negative", {"graph.family": '"erdos_renyi"',
                                              "graph.p": "-0.1"}, ("graph.p",)),
    run_case("graph-erdos-renyi-p-nan", {"graph.family": '"erdos_renyi"', "graph.p": "nan"},
             ("graph.p",)),
    run_case("graph-random-geometric-radius-negative",
             {"graph.family": '"random_geometric"', "graph.radius": "-1.0"}, ("graph.radius",)),
    run_case("graph-random-geometric-radius-inf",
             {"graph.family": '"random_geometric"', "graph.radius": "inf"}, ("graph.radius",)),
    run_case("graph-radius-for-cycle", {"graph.radius": "0.3"}, ("graph.radius",)),
    run_case("graph-p-for-random-geometric", {"graph.family": '"random_geometric"',
                                              "graph.p": "0.3"}, ("graph.p",)),
    run_case("graph-seed-negative", {"graph.family": '"erdos_renyi"', "graph.seed": "-1"},
             ("graph.seed",)),
    run_case("graph-seed-for-cycle", {"graph.seed": "3"}, ("graph.seed",)),
    run_case("graph-time-varying-bool", {"graph.family": '"random_geometric"',
                                         "graph.time_varying": "true"},
             ("graph.time_varying",)),
    run_case("graph-time-varying-1", {"graph.family": '"random_geometric"',
                                      "graph.time_varying": "1"}, ("graph.time_varying",)),
    run_case("graph-time-varying-negative", {"graph.family": '"random_geometric"',
                                             "graph.time_varying": "-1"},
             ("graph.time_varying",)),
    run_case("graph-time-varying-float", {"graph.family": '"random_geometric"',
                                          "graph.time_varying": "2.5"},
             ("graph.time_varying",)),
    run_case("graph-time-varying-with-file", {"graph": {"family": '"file"', "path": '"e.txt"',
                                                        "time_varying": "3"}},
             ("graph.time_varying",), files={"e.txt": TRIANGLE}),
    run_case("graph-switch-period-without-time-varying", {"graph.switch_period": "1.0"},
             ("graph.switch_period",)),
    run_case("graph-switch-period-zero", {"graph.family": '"random_geometric"',
                                          "graph.time_varying": "3",
                                          "graph.switch_period": "0.0"},
             ("graph.switch_period",)),
    run_case("graph-switch-period-string", {"graph.family": '"random_geometric"',
                                            "graph.time_varying": "3",
                                            "graph.switch_period": '"soon"'},
             ("graph.switch_period",)),
    run_case("graph-time-varying-for-msda", {"graph.family": '"random_geometric"',
                                             "graph.time_varying": "3",
                                             "algorithm.name": '"msda"'},
             ("graph", "time-varying")),
    run_case("graph-time-varying-for-accelerated-gossip",
             {"graph.family": '"random_geometric"', "graph.time_varying": "3",
              "algorithm.name": '"accelerated_gossip"',
              "problem": {"kind": '"averaging"', "dim": "3"}}, ("graph", "time-varying")),
    run_case("graph-time-varying-with-sdp-rates", {"graph.family": '"random_geometric"',
                                                   "graph.time_varying": "3",
                                                   "rates.kind": '"sdp"'}, ("rates.kind",)),
    # -- [graph] family = "file" and edge-list files --
    run_case("graph-file-with-n", {"graph": {"family": '"file"', "path": '"e.txt"',
                                             "n": "3"}}, ("graph.n",),
             files={"e.txt": TRIANGLE}),
    run_case("graph-file-without-path", {"graph": {"family": '"file"'}}, ("graph.path",)),
    run_case("graph-file-missing", {"graph": {"family": '"file"', "path": '"gone.txt"'}},
             ("graph.path", "gone.txt")),
    run_case("graph-file-is-a-directory", {"graph": {"family": '"file"', "path": '"edges"'}},
             ("graph.path", "edges"), files={"edges": DIR}, forbid=("not found",)),
    run_case("graph-file-is-a-fifo", {"graph": {"family": '"file"', "path": '"e.fifo"'}},
             ("graph.path", "e.fifo"), files={"e.fifo": FIFO}, forbid=("not found",)),
    run_case("graph-n-beyond-int64", {"graph.n": "9223372036854775808"}, ("graph.n",),
             guard=True),
    run_case("graph-file-path-empty", {"graph": {"family": '"file"', "path": '""'}},
             ("graph.path",)),
    run_case("graph-file-path-int", {"graph": {"family": '"file"', "path": "5"}},
             ("graph.path",)),
    file_graph_case("edges-empty-file", ""),
    file_graph_case("edges-comments-only", "# u v\n# nothing here\n"),
    file_graph_case("edges-one-column", "0 1\n1\n2 0\n", ("line 2",)),
    file_graph_case("edges-four-columns", "0 1\n1 2 1.0 7\n2 0\n", ("line 2",)),
    file_graph_case("edges-self-loop-only", "0 0\n"),
    file_graph_case("edges-disconnected-pairs", "0 1\n2 3\n4 5\n", ("disconnected",)),
    file_graph_case("edges-binary-junk", JUNK),
    run_case("graph-file-is-the-config", {"graph": {"family": '"file"', "path": '"c.toml"'}},
             ("graph.path",)),
    # -- [problem] --
    run_case("problem-kind-missing", {"problem.kind": None}, ("problem.kind",)),
    run_case("problem-kind-typo", {"problem.kind": '"least_square"'},
             ("problem.kind", "did you mean 'least_squares'")),
    run_case("problem-kind-unknown", {"problem.kind": '"svm"'}, ("problem.kind",)),
    run_case("problem-dim-zero", {"problem.dim": "0"}, ("problem.dim",)),
    run_case("problem-dim-float", {"problem.dim": "2.5"}, ("problem.dim",)),
    run_case("problem-dim-string", {"problem.dim": '"3"'}, ("problem.dim",)),
    run_case("problem-samples-zero", {"problem.samples_per_node": "0"},
             ("problem.samples_per_node",)),
    run_case("problem-samples-for-quadratic", {"problem.kind": '"quadratic"'},
             ("problem.samples_per_node",)),
    run_case("problem-dim-above-samples", {"problem.dim": "30"}, ("problem.dim",)),
    run_case("problem-dim-above-samples-on-a-sparse-graph",
             {"graph.family": '"random_geometric"', "graph.radius": "0.05",
              "problem.dim": "30"}, ("problem.dim",)),
    run_case("problem-reg-negative", {"problem.reg": "-1.0"}, ("problem.reg",)),
    run_case("problem-reg-nan", {"problem.reg": "nan"}, ("problem.reg",)),
    run_case("problem-logistic-reg-zero", {"problem.kind": '"logistic"', "problem.reg": "0.0"},
             ("problem.reg",)),
    run_case("problem-form-unknown", {"problem.form": '"matrix"'}, ("problem.form",)),
    run_case("problem-kappa-below-1", {"problem": {"kind": '"quadratic"', "kappa": "0.5"}},
             ("problem.kappa",)),
    run_case("problem-kappa-1e300", {"problem": {"kind": '"quadratic"', "kappa": "1e300"}},
             ("problem.kappa",)),
    run_case("problem-kappa-inf", {"problem": {"kind": '"quadratic"', "kappa": "inf"}},
             ("problem.kappa",)),
    run_case("problem-seed-negative", {"problem.seed": "-1"}, ("problem.seed",)),
    run_case("problem-seed-float", {"problem.seed": "1.5"}, ("problem.seed",)),
    run_case("problem-samples-for-averaging", {"problem.kind": '"averaging"'},
             ("problem.samples_per_node",)),
    run_case("problem-libsvm-without-path", {"problem": {"kind": '"libsvm"'}},
             ("problem.path",)),
    run_case("problem-libsvm-missing-file", {"problem": {"kind": '"libsvm"',
                                                         "path": '"gone.svm"'}},
             ("problem.path", "gone.svm")),
    run_case("problem-libsvm-path-is-a-directory", {"problem": {"kind": '"libsvm"',
                                                                "path": '"data"'}},
             ("problem.path", "data"), files={"data": DIR}, forbid=("not found",)),
    run_case("problem-libsvm-path-is-a-fifo", {"problem": {"kind": '"libsvm"',
                                                           "path": '"d.fifo"'}},
             ("problem.path", "d.fifo"), files={"d.fifo": FIFO}, forbid=("not found",)),
    run_case("problem-libsvm-with-dim", {"problem": {"kind": '"libsvm"', "path": '"d.svm"',
                                                     "dim": "2"}},
             ("problem.dim",), files={"d.svm": SVM}),
    run_case("problem-libsvm-loss-unknown", {"problem": {"kind": '"libsvm"',
                                                         "path": '"d.svm"', "loss": '"hinge"'}},
             ("problem.loss",), files={"d.svm": SVM}),
    run_case("problem-libsvm-split-unknown", {"problem": {"kind": '"libsvm"',
                                                          "path": '"d.svm"',
                                                          "split": '"random"'}},
             ("problem.split",), files={"d.svm": SVM}),
    libsvm_case("libsvm-empty-file", ""),
    libsvm_case("libsvm-label-not-a-number", SVM + "yes 1:0.5\n", ("line 17",)),
    libsvm_case("libsvm-token-without-colon", SVM + "1 3\n", ("line 17",)),
    libsvm_case("libsvm-negative-index", SVM + "1 -1:0.5\n", ("line 17",)),
    libsvm_case("libsvm-index-not-an-integer", SVM + "1 x:0.5\n", ("line 17",)),
    libsvm_case("libsvm-value-nan", SVM + "1 1:nan\n", ("line 17",)),
    libsvm_case("libsvm-label-inf", SVM + "inf 1:0.5\n", ("line 17",)),
    libsvm_case("libsvm-binary-junk", JUNK),
    libsvm_case("libsvm-fewer-samples-than-nodes", SVM[:SVM.index("\n", 20) + 1]),
    libsvm_case("libsvm-logistic-three-labels", SVM + "2 1:0.5\n"),
    libsvm_case("libsvm-logistic-one-label", SVM.replace("-1 ", "1 ")),
    libsvm_case("libsvm-all-features-zero",
                "".join(f"{1 if i % 2 else -1} 1:0\n" for i in range(16))),
    # -- [algorithm] --
    run_case("algorithm-name-wrong-case", {"algorithm.name": '"DADAO"'}, ("algorithm.name",)),
    run_case("algorithm-name-int", {"algorithm.name": "1"}, ("algorithm.name",)),
    run_case("algorithm-gamma-negative", {"algorithm.gamma": "-1.0"}, ("algorithm.gamma",)),
    run_case("algorithm-gamma-string", {"algorithm.gamma": '"big"'}, ("algorithm.gamma",)),
    run_case("algorithm-gamma-nan", {"algorithm.gamma": "nan"}, ("algorithm.gamma",)),
    run_case("algorithm-gamma-bool", {"algorithm.gamma": "true"}, ("algorithm.gamma",)),
    run_case("algorithm-gamma-array", {"algorithm.gamma": "[0.1]"}, ("algorithm.gamma",)),
    run_case("algorithm-alpha-zero", {"algorithm.alpha": "0.0"}, ("algorithm.alpha",)),
    run_case("algorithm-eta-negative", {"algorithm.eta": "-1.0"}, ("algorithm.eta",)),
    run_case("algorithm-async-sgd-step-negative", {"algorithm.name": '"async_sgd"',
                                                   "algorithm.step": "-0.1"},
             ("algorithm.step",)),
    run_case("algorithm-constant-of-another-method", {"algorithm.name": '"dgd"',
                                                      "algorithm.gamma": "0.1"},
             ("algorithm.gamma",)),
    run_case("algorithm-randomized-gossip-has-no-constants",
             {"algorithm.name": '"randomized_gossip"', "algorithm.eta": "0.5",
              "problem": {"kind": '"averaging"', "dim": "3"}}, ("algorithm.eta",)),
    run_case("algorithm-continuized-on-logistic", {"algorithm.name": '"continuized"',
                                                   "problem.kind": '"logistic"'},
             ("problem.kind",)),
    run_case("algorithm-accelerated-gossip-on-quadratic",
             {"algorithm.name": '"accelerated_gossip"',
              "problem": {"kind": '"quadratic"', "dim": "3"}}, ("problem.kind",)),
    run_case("algorithm-gossip-on-least-squares", {"algorithm.name": '"randomized_gossip"'},
             ("problem.kind",)),
    run_case("algorithm-dgd-with-explicit-rates", {"algorithm.name": '"dgd"',
                                                   "rates": {"kind": '"explicit"',
                                                             "path": '"r.csv"'}},
             ("rates.kind",), files={"r.csv": cycle_csv()}),
    # -- [rates] and rates CSV files --
    run_case("rates-kind-unknown", {"rates.kind": '"optimal"'}, ("rates.kind",)),
    run_case("rates-uniform-without-total", {"rates.kind": '"uniform"'}, ("rates.total",)),
    run_case("rates-uniform-total-zero", {"rates.kind": '"uniform"', "rates.total": "0.0"},
             ("rates.total",)),
    run_case("rates-uniform-total-negative", {"rates.kind": '"uniform"',
                                              "rates.total": "-5.0"}, ("rates.total",)),
    run_case("rates-uniform-total-inf", {"rates.kind": '"uniform"', "rates.total": "inf"},
             ("rates.total",)),
    run_case("rates-total-for-auto", {"rates.total": "5.0"}, ("rates.total",)),
    run_case("rates-total-for-theory", {"rates.kind": '"theory"', "rates.total": "5.0"},
             ("rates.total",)),
    run_case("rates-explicit-without-path", {"rates.kind": '"explicit"'}, ("rates.path",)),
    run_case("rates-explicit-missing-file", {"rates.kind": '"explicit"',
                                             "rates.path": '"gone.csv"'},
             ("rates.path", "gone.csv")),
    run_case("rates-explicit-path-is-a-directory", {"rates.kind": '"explicit"',
                                                    "rates.path": '"rates"'},
             ("rates.path", "rates"), files={"rates": DIR}, forbid=("not found",)),
    run_case("rates-explicit-path-is-a-fifo", {"rates.kind": '"explicit"',
                                               "rates.path": '"r.fifo"'},
             ("rates.path", "r.fifo"), files={"r.fifo": FIFO}, forbid=("not found",)),
    run_case("rates-sdp-method-typo", {"rates.kind": '"sdp"', "rates.method": '"first_order"'},
             ("rates.method", "did you mean 'first-order'")),
    run_case("rates-sdp-solver-not-installed", {"rates.kind": '"sdp"',
                                                "rates.solver": '"mosek"'}, ("rates.solver",)),
    run_case("rates-sdp-node-cap-with-uncapped-method",
             {"rates": {"kind": '"sdp"', "method": '"first-order"', "node_cap": "1.0"}},
             ("rates.node_cap",)),
    run_case("rates-sdp-solver-unknown", {"rates.kind": '"sdp"', "rates.solver": '"gurobi"'},
             ("rates.solver",)),
    run_case("rates-sdp-node-cap-zero", {"rates.kind": '"sdp"', "rates.node_cap": "0.0"},
             ("rates.node_cap",)),
    run_case("rates-sdp-node-cap-string", {"rates.kind": '"sdp"', "rates.node_cap": '"none"'},
             ("rates.node_cap",)),
    run_case("rates-sdp-method-for-uniform", {"rates.kind": '"uniform"', "rates.total": "50.0",
                                              "rates.method": '"sdp"'}, ("rates.method",)),
    run_case("rates-sdp-costs-missing-file", {"rates": {"kind": '"sdp"',
                                                        "costs_path": '"gone.csv"'}},
             ("rates.costs_path", "gone.csv")),
    run_case("rates-costs-path-for-explicit", {"rates": {"kind": '"explicit"', "path": '"r.csv"',
                                                         "costs_path": '"k.csv"'}},
             ("rates.costs_path",), files={"r.csv": cycle_csv(), "k.csv": cycle_costs_csv()}),
    costs_case("costs-csv-wrong-header", cycle_costs_csv(header="u,v,rate"), ("line 1",)),
    costs_case("costs-csv-zero-cost", COSTS_ZERO, ("line 2", "cost")),
    costs_case("costs-csv-negative-cost", cycle_costs_csv().replace("0,1,1.0", "0,1,-2.0"),
               ("line 2", "cost")),
    costs_case("costs-csv-nan-cost", cycle_costs_csv(cost="nan"), ("line 2", "cost")),
    costs_case("costs-csv-non-edge", COSTS_NON_EDGE, ("line 10", "(0, 4)")),
    costs_case("costs-csv-missing-edges", cycle_costs_csv(rows=["0,1,1.0", "1,2,1.0"]),
               ("no cost given",)),
    costs_case("costs-csv-duplicate-edge", cycle_costs_csv() + "1,0,2.0\n", ("line 10",)),
    explicit_case("csv-empty", ""),
    explicit_case("csv-wrong-header", cycle_csv().replace("u,v,rate", "a,b,c")),
    explicit_case("csv-missing-rate-column", "u,v\n" + "\n".join(
        f"{u},{v}" for u, v in sorted(tuple(sorted((i, (i + 1) % 8))) for i in range(8))) + "\n"),
    explicit_case("csv-negative-rate", cycle_csv(rows=[
        "0,1,-1.0", "0,7,2.0", "1,2,2.0", "2,3,2.0", "3,4,2.0", "4,5,2.0", "5,6,2.0",
        "6,7,2.0"]), ("line 2",)),
    explicit_case("csv-nan-rate", cycle_csv(rate="nan")),
    explicit_case("csv-inf-rate", cycle_csv(rate="inf")),
    explicit_case("csv-node-not-an-integer", cycle_csv(rows=[
        "0,1,2.0", "zero,7,2.0", "1,2,2.0", "2,3,2.0", "3,4,2.0", "4,5,2.0", "5,6,2.0",
        "6,7,2.0"]), ("line 3",)),
    explicit_case("csv-missing-edges", cycle_csv(rows=["0,1,2.0", "1,2,2.0", "2,3,2.0"])),
    explicit_case("csv-rate-for-a-non-edge", cycle_csv(rows=[
        "0,1,2.0", "0,7,2.0", "1,2,2.0", "2,3,2.0", "3,4,2.0", "4,5,2.0", "5,6,2.0",
        "6,7,2.0", "0,4,2.0"])),
    explicit_case("csv-duplicate-edge", cycle_csv(rows=[
        "0,1,2.0", "1,0,2.0", "0,7,2.0", "1,2,2.0", "2,3,2.0", "3,4,2.0", "4,5,2.0", "5,6,2.0",
        "6,7,2.0"]), ("line 3",)),
    explicit_case("csv-extra-column", cycle_csv(rows=[
        "0,1,2.0,9", "0,7,2.0", "1,2,2.0", "2,3,2.0", "3,4,2.0", "4,5,2.0", "5,6,2.0",
        "6,7,2.0"]), ("line 2",)),
    explicit_case("csv-binary-junk", JUNK),
    explicit_case("csv-header-only", "u,v,rate\n"),
    explicit_case("csv-rate-empty", cycle_csv(rows=[
        "0,1,", "0,7,2.0", "1,2,2.0", "2,3,2.0", "3,4,2.0", "4,5,2.0", "5,6,2.0", "6,7,2.0"]),
        ("line 2",)),
    explicit_case("csv-semicolons", cycle_csv().replace(",", ";")),
    explicit_case("csv-zero-rates-disconnect", cycle_csv(rows=[
        "0,1,0.0", "0,7,2.0", "1,2,2.0", "2,3,2.0", "3,4,0.0", "4,5,2.0", "5,6,2.0",
        "6,7,2.0"])),
    run_case("rates-explicit-below-condition", {"rates": {"kind": '"explicit"',
                                                          "path": '"r.csv"'}},
             ("rates", "run.force"), files={"r.csv": cycle_csv(rate="0.01")}),
    # -- [run] --
    run_case("run-t-max-missing", {"run.t_max": None}, ("run.t_max",)),
    run_case("run-t-max-string", {"run.t_max": '"100"'}, ("run.t_max",)),
    run_case("run-t-max-inf", {"run.t_max": "inf"}, ("run.t_max",)),
    run_case("run-t-max-nan", {"run.t_max": "nan"}, ("run.t_max",)),
    run_case("run-t-max-bool", {"run.t_max": "true"}, ("run.t_max",)),
    run_case("run-log-every-zero", {"run.log_every": "0.0"}, ("run.log_every",)),
    run_case("run-log-every-negative", {"run.log_every": "-1.0"}, ("run.log_every",)),
    run_case("run-log-every-nan", {"run.log_every": "nan"}, ("run.log_every",)),
    run_case("run-log-every-string", {"run.log_every": '"often"'}, ("run.log_every",)),
    run_case("run-seed-negative", {"run.seed": "-1"}, ("run.seed",)),
    run_case("run-seed-float", {"run.seed": "1.5"}, ("run.seed",)),
    run_case("run-seed-string", {"run.seed": '"0"'}, ("run.seed",)),
    run_case("run-force-int", {"run.force": "1"}, ("run.force",)),
    run_case("run-force-float", {"run.force": "1.0"}, ("run.force",)),
    run_case("run-force-string", {"run.force": '"yes"'}, ("run.force",)),
    run_case("run-engine-typo", {"run.engine": '"mip"'}, ("run.engine", "did you mean 'mpi'")),
    run_case("run-engine-int", {"run.engine": "0"}, ("run.engine",)),
    run_case("run-key-typo", {"run.t_max": None, "run.tmax": "10.0"},
             ("run.tmax", "did you mean 't_max'")),
    # -- [timing]: the timing engine's cluster --
    run_case("timing-unknown-key", {"run.engine": '"timing"'}, ("timing.latncy_value",
             "did you mean"), extra="[timing]\nlatncy_value = 0.1\n"),
    run_case("timing-law-unknown", {"run.engine": '"timing"'}, ("timing.compute_law",),
             extra='[timing]\ncompute_law = "gamma"\n'),
    run_case("timing-law-parameter-of-another-law", {"run.engine": '"timing"'},
             ("timing.compute",), extra='[timing]\ncompute_law = "constant"\n'
             'compute_median = 1.0\n'),
    run_case("timing-compute-mean-zero", {"run.engine": '"timing"'}, ("timing.compute",),
             extra='[timing]\ncompute_law = "constant"\ncompute_value = 0.0\n'),
    run_case("timing-loss-probability-above-one", {"run.engine": '"timing"'},
             ("timing.loss_p",), extra='[timing]\nloss = "independent"\nloss_p = 1.5\n'),
    run_case("timing-speed-factors-too-few", {"run.engine": '"timing"'},
             ("timing.speed_factors",), extra='[timing]\nspeed = "list"\n'
             'speed_factors = "1, 2"\n'),
    run_case("timing-links-file-missing", {"run.engine": '"timing"'},
             ("timing.links_path", "links.csv"), extra='[timing]\nlinks_path = "links.csv"\n'),
    run_case("timing-links-file-names-a-non-edge", {"run.engine": '"timing"'},
             ("timing.links_path", "links.csv", "line 2"),
             files={"links.csv": "u,v,latency,bandwidth\n0,4,0.1,\n"},
             extra='[timing]\nlinks_path = "links.csv"\n'),
    run_case("timing-stale-gradient-of-a-gossip-method",
             {"run.engine": '"timing"', "algorithm.name": '"continuized"'},
             ("timing.gradient",), extra='[timing]\ngradient = "stale"\n'),
    run_case("timing-busy-link-unknown", {"run.engine": '"timing"'}, ("timing.busy_link",),
             extra='[timing]\nbusy_link = "drop"\n'),
    run_case("timing-costs-without-a-timing-section",
             {"rates": {"kind": '"sdp"', "costs_from_timing": "true"}},
             ("rates.costs_from_timing", "[timing]")),
    # -- huge inputs: refused in one line before anything is allocated --
    run_case("huge-cycle-1e9-nodes", {"graph.n": "1000000000"}, ("graph",), guard=True),
    run_case("huge-complete-3e5-nodes", {"graph.family": '"complete"', "graph.n": "300000"},
             ("graph",), guard=True),
    run_case("huge-samples-per-node-2e9", {"problem.samples_per_node": "2000000000"},
             ("problem.samples_per_node",), guard=True),
    run_case("huge-t-max-1e15", {"run.t_max": "1e15", "run.log_every": '"auto"'},
             ("run.t_max",), guard=True),
    run_case("huge-uniform-total-1e300", {"rates.kind": '"uniform"', "rates.total": "1e300"},
             ("events",), guard=True),
    run_case("huge-quadratic-dim-1e5", {"problem": {"kind": '"quadratic"', "dim": "100000"}},
             ("problem.dim",), guard=True),
    run_case("huge-time-varying-1e7-graphs", {"graph.family": '"random_geometric"',
                                              "graph.time_varying": "10000000"},
             ("graph.time_varying",), guard=True),
    # -- --set, --seed and the other flags of run --
    flag_case("set-unknown-key", ("--set", "graph.bogus=1"), ("--set", "graph.bogus")),
    flag_case("set-without-equals", ("--set", "graph.n"), ("--set",)),
    flag_case("set-without-section", ("--set", "n=8"), ("--set",)),
    flag_case("set-without-section-or-key", ("--set", "run=5"), ("--set",)),
    flag_case("set-empty-section", ("--set", ".n=8"), ("--set",)),
    flag_case("set-unknown-section-typo", ("--set", "rtes.kind=uniform"),
              ("--set", "did you mean 'rates'")),
    flag_case("set-value-not-an-int", ("--set", "graph.n=abc"), ("graph.n",)),
    flag_case("set-value-empty", ("--set", "graph.n="), ("graph.n",)),
    flag_case("set-value-array", ("--set", "run.t_max=[1, 2]"), ("run.t_max",)),
    flag_case("set-value-unknown-choice", ("--set", "rates.kind=optimal"), ("rates.kind",)),
    flag_case("set-family-needing-a-square", ("--set", "graph.family=torus_2d"), ("graph",)),
    flag_case("set-family-file-without-path", ("--set", "graph.family=file"), ("graph.path",),
              edits={"graph.n": None}),
    flag_case("set-seed-float", ("--set", "run.seed=1e3"), ("run.seed",)),
    flag_case("seed-flag-negative", ("--seed", "-1"), ("seed",)),
    # -- --out of run (nothing may be written anywhere) --
    flag_case("out-is-a-file", ("--out", "taken"), ("--out",), dry=False,
              files={"taken": "my notes\n"}),
    flag_case("out-under-a-file", ("--out", "taken/run"), ("--out",), dry=False,
              files={"taken": "my notes\n"}),
    flag_case("out-meta-json-is-a-list", ("--out", "o"), ("meta.json",), dry=False,
              files={"o": DIR, "o/meta.json": "[1, 2, 3]\n"}),
    flag_case("out-meta-json-invalid", ("--out", "o"), ("meta.json",), dry=False,
              files={"o": DIR, "o/meta.json": '{"status": "compl'}),
    flag_case("out-meta-json-binary-junk", ("--out", "o"), ("meta.json",), dry=False,
              files={"o": DIR, "o/meta.json": JUNK}),
    flag_case("out-meta-json-is-a-directory", ("--out", "o"), ("meta.json",), dry=False,
              files={"o": DIR, "o/meta.json": DIR}),
    flag_case("out-holds-another-config", ("--out", "o"), ("--out",), dry=False,
              files={"o": DIR, "o/meta.json": META_OK}),
    # -- dadao graph --
    Mistake("graph-cmd-missing-file", ("graph", "missing.txt"), {}, ("missing.txt",),
            ("--n: required",)),
    Mistake("graph-cmd-file-with-n", ("graph", "e.txt", "--n", "99"), {"e.txt": TRIANGLE},
            ("--n",)),
    Mistake("graph-cmd-file-with-param", ("graph", "e.txt", "--param", "p=0.5"),
            {"e.txt": TRIANGLE}, ("--param",)),
    Mistake("graph-cmd-directory", ("graph", "edges"), {"edges": DIR}, ("edges",),
            ("--n: required", "not found")),
    Mistake("graph-cmd-fifo", ("graph", "e.fifo"), {"e.fifo": FIFO}, ("e.fifo",),
            ("--n: required", "not found")),
    Mistake("graph-cmd-malformed-file", ("graph", "e.txt"), {"e.txt": "0 1\n1\n"},
            ("e.txt", "line 2")),
    Mistake("graph-cmd-n-zero", ("graph", "cycle", "--n", "0"), {}, ("--n",)),
    Mistake("graph-cmd-n-negative", ("graph", "star", "--n", "-3"), {}, ("--n",)),
    Mistake("graph-cmd-family-typo", ("graph", "complet", "--n", "8"), {},
            ("did you mean 'complete'",)),
    Mistake("graph-cmd-param-without-equals", ("graph", "grid_2d", "--n", "16", "--param",
                                               "rows"), {}, ("--param",)),
    Mistake("graph-cmd-param-empty-key", ("graph", "star", "--n", "8", "--param", "=3"), {},
            ("--param",)),
    Mistake("graph-cmd-param-rows-zero", ("graph", "grid_2d", "--n", "16", "--param",
                                          "rows=0"), {}, ("rows",)),
    Mistake("graph-cmd-param-rows-float", ("graph", "grid_2d", "--n", "16", "--param",
                                           "rows=4.5"), {}, ("rows",)),
    Mistake("graph-cmd-grid-not-a-square", ("graph", "grid_2d", "--n", "15"), {},
            ("perfect square",)),
    Mistake("graph-cmd-param-unknown-for-family", ("graph", "cycle", "--n", "8", "--param",
                                                   "p=0.5"), {}, ("p",)),
    Mistake("graph-cmd-erdos-renyi-p-0", ("graph", "erdos_renyi", "--n", "8", "--param",
                                          "p=0"), {}, ("p",)),
    Mistake("graph-cmd-erdos-renyi-p-2", ("graph", "erdos_renyi", "--n", "8", "--param",
                                          "p=2"), {}, ("p",)),
    Mistake("graph-cmd-erdos-renyi-p-string", ("graph", "erdos_renyi", "--n", "8", "--param",
                                               "p=abc"), {}, ("p",)),
    Mistake("graph-cmd-radius-negative", ("graph", "random_geometric", "--n", "8", "--param",
                                          "radius=-1"), {}, ("radius",)),
    Mistake("graph-cmd-torus-side-2", ("graph", "torus_2d", "--n", "16", "--param", "rows=2",
                                       "--param", "cols=8"), {}, ("torus_2d",)),
    Mistake("graph-cmd-seed-negative", ("graph", "erdos_renyi", "--n", "8", "--seed", "-1"),
            {}, ("--seed",)),
    Mistake("graph-cmd-huge-cycle", ("graph", "cycle", "--n", "1000000000"), {}, ("--n",),
            guard=True),
    Mistake("graph-cmd-huge-complete", ("graph", "complete", "--n", "300000"), {}, ("--n",),
            guard=True),
    # -- dadao rates --
    Mistake("rates-cmd-without-n", ("rates", "cycle"), {}, ("--n",)),
    Mistake("rates-cmd-missing-file", ("rates", "missing.edges"), {}, ("missing.edges",),
            ("--n: required",)),
    Mistake("rates-cmd-file-with-n", ("rates", "e.txt", "--n", "5"), {"e.txt": TRIANGLE},
            ("--n",)),
    Mistake("rates-cmd-node-cap-zero", ("rates", "cycle", "--n", "8", "--node-cap", "0"), {},
            ("--node-cap",)),
    Mistake("rates-cmd-node-cap-negative", ("rates", "cycle", "--n", "8", "--node-cap", "-1"),
            {}, ("--node-cap",)),
    Mistake("rates-cmd-node-cap-nan", ("rates", "cycle", "--n", "8", "--node-cap", "nan"), {},
            ("--node-cap",)),
    Mistake("rates-cmd-node-cap-inf", ("rates", "cycle", "--n", "8", "--node-cap", "inf"), {},
            ("--node-cap",)),
    Mistake("rates-cmd-output-is-a-directory", ("rates", "cycle", "--n", "8", "-o", "out"),
            {"out": DIR}, ("-o",)),
    Mistake("rates-cmd-output-parent-is-a-file", ("rates", "cycle", "--n", "8", "-o",
                                                  "notes.txt/r.csv"),
            {"notes.txt": "hello\n"}, ("-o",)),
    Mistake("rates-cmd-solver-not-installed", ("rates", "cycle", "--n", "8", "--solver",
                                               "mosek"), {}, ("--solver",)),
    Mistake("rates-cmd-node-cap-with-uncapped-method", ("rates", "star", "--n", "8",
                                                        "--method", "first-order",
                                                        "--node-cap", "1"), {},
            ("--node-cap",)),
    Mistake("rates-cmd-node-cap-too-low", ("rates", "cycle", "--n", "8", "--node-cap",
                                           "1e-6"), {}, ("--node-cap",)),
    Mistake("rates-cmd-erdos-renyi-p-0", ("rates", "erdos_renyi", "--n", "8", "--param",
                                          "p=0"), {}, ("p",)),
    Mistake("rates-cmd-huge-cycle", ("rates", "cycle", "--n", "1000000000"), {}, ("--n",),
            guard=True),
    Mistake("rates-cmd-costs-missing-file", ("rates", "cycle", "--n", "8", "--costs",
                                             "gone.csv"), {}, ("--costs", "gone.csv")),
    Mistake("rates-cmd-costs-wrong-header", ("rates", "cycle", "--n", "8", "--costs", "k.csv"),
            {"k.csv": cycle_costs_csv(header="u,v,seconds")}, ("--costs", "k.csv", "line 1")),
    Mistake("rates-cmd-costs-zero-cost", ("rates", "cycle", "--n", "8", "--costs", "k.csv"),
            {"k.csv": COSTS_ZERO}, ("--costs", "k.csv", "line 2")),
    Mistake("rates-cmd-costs-non-edge", ("rates", "cycle", "--n", "8", "--costs", "k.csv"),
            {"k.csv": COSTS_NON_EDGE}, ("--costs", "k.csv", "line 10", "not an edge")),
    # -- dadao plot: run directories, meta.json, trace.csv, -o --
    plot_case("plot-missing-folder", {}, ("nowhere",), ("nowhere",)),
    plot_case("plot-a-file", {"notes.txt": "hello\n"}, ("notes.txt",), ("notes.txt",)),
    plot_case("plot-folder-without-meta", run_dir(meta=None), ("meta.json",)),
    plot_case("plot-meta-invalid-json", run_dir(meta='{"status": '), ("meta.json",)),
    plot_case("plot-meta-empty", run_dir(meta=""), ("meta.json",)),
    plot_case("plot-meta-is-a-list", run_dir(meta="[1, 2]"), ("meta.json",)),
    plot_case("plot-meta-is-a-string", run_dir(meta='"completed"'), ("meta.json",)),
    plot_case("plot-meta-binary-junk", run_dir(meta=JUNK), ("meta.json",)),
    plot_case("plot-meta-is-a-directory", run_dir(meta=DIR), ("meta.json",)),
    plot_case("plot-without-trace", run_dir(trace=None), ("trace.csv",)),
    plot_case("plot-trace-empty-file", run_dir(trace=""), ("trace.csv",)),
    plot_case("plot-trace-header-only", run_dir(trace=TRACE_OK.splitlines()[0] + "\n"),
              ("trace.csv",)),
    plot_case("plot-trace-without-dist-to-opt", run_dir(trace="time,gradients,communications\n"
                                                        "0.0,0.0,0.0\n1.0,8.0,12.0\n"),
              ("trace.csv",)),
    plot_case("plot-trace-without-communications-axis", run_dir(trace=(
        "time,gradients,dist_to_opt\n0.0,0.0,1.0\n1.0,8.0,0.5\n")), ("trace.csv",),
        ("r", "--x", "communications")),
    plot_case("plot-trace-not-numbers", run_dir(trace=TRACE_OK + "3.0,x,y,z,w,v\n"),
              ("trace.csv",)),
    plot_case("plot-trace-ragged-row", run_dir(trace=TRACE_OK + "3.0,1.0\n"), ("trace.csv",)),
    plot_case("plot-trace-binary-junk", run_dir(trace=JUNK), ("trace.csv",)),
    plot_case("plot-trace-is-a-directory", run_dir(trace=DIR), ("trace.csv",)),
    plot_case("plot-good-run-then-bad-one", {**run_dir(), **run_dir(meta="[]", name="s")},
              ("s", "meta.json"), ("r", "s", "-o", "both.png")),
    plot_case("plot-output-extension", run_dir(), ("-o",), ("r", "-o", "figure.txt")),
    plot_case("plot-output-empty", run_dir(), ("-o",), ("r", "-o", "")),
    plot_case("plot-output-is-a-directory", {**run_dir(), "figs.png": DIR}, ("-o",),
              ("r", "-o", "figs.png")),
    plot_case("plot-output-folder-missing", run_dir(), ("-o",), ("r", "-o", "no/such.png")),
    plot_case("plot-output-parent-is-a-file", {**run_dir(), "notes.txt": "hello\n"}, ("-o",),
              ("r", "-o", "notes.txt/fig.png")),
    # -- dadao collect: folders of run directories, -o --
    collect_case("collect-no-run-found", {"empty": DIR, "other/notes.txt": "hello\n"},
                 ("empty", "other", "no run directory"), ("empty", "other")),
    collect_case("collect-missing-folder", {}, ("nowhere",), ("nowhere",)),
    collect_case("collect-output-is-a-directory", {**COLLECT_RUN, "out.csv": DIR}, ("-o",),
                 ("r", "-o", "out.csv")),
    collect_case("collect-output-extension", COLLECT_RUN, ("-o", ".csv or .json"),
                 ("r", "-o", "results.parquet")),
    collect_case("collect-output-folder-missing", COLLECT_RUN, ("-o", "no"),
                 ("r", "-o", "no/such.csv")),
    # -- dadao report: folders of run directories, -o, --pdf --
    Mistake("report-no-run-found", ("report", "empty"), {"empty": DIR},
            ("empty", "no run directory")),
    Mistake("report-output-is-a-directory", ("report", "r", "-o", "out.html"),
            {**COLLECT_RUN, "out.html": DIR}, ("-o", "out.html", "is a directory")),
    Mistake("report-pdf-extension", ("report", "r", "--pdf", "report.png"), COLLECT_RUN,
            ("--pdf", "report.png", ".pdf")),
    # -- dadao sweep: the sweep file (checked whole, every cell's config too, before a run) --
    sweep_case("sweep-unknown-section", '[grids]\n"graph.n" = [8]\n',
               ("[grids]", "did you mean 'grid'")),
    sweep_case("sweep-axis-not-a-config-key", '[[grid]]\n"graph.nodes" = [8, 16]\n',
               ("graph.nodes = 8", "graph.nodes: unknown key")),
    sweep_case("sweep-empty-axis", '[[grid]]\n"algorithm.name" = []\n',
               ("[[grid]] #1 algorithm.name", "empty axis")),
    sweep_case("sweep-value-twice", '[[grid]]\n"graph.n" = [8, 16, 8]\n',
               ("graph.n", "listed twice"), ("--jobs", "2")),
    sweep_case("sweep-seeds-not-integers", 'seeds = [0, "1"]\n', ("sweep.seeds",)),
    # -- argument errors of the parser (one line, like every other mistake) --
    flag_case("argv-run-seed-not-an-int", ("--seed", "abc"), ("--seed",)),
    flag_case("argv-run-engine-unknown", ("--engine", "gpu"), ("--engine",)),
    Mistake("argv-run-without-config", ("run",), {}, ("CONFIG.toml",)),
    flag_case("argv-run-unknown-flag", ("--sed", "3"), ("--sed",)),
    Mistake("argv-graph-n-not-an-int", ("graph", "cycle", "--n", "abc"), {}, ("--n",)),
    Mistake("argv-graph-rates-unknown", ("graph", "star", "--n", "8", "--rates", "optimal"),
            {}, ("--rates",)),
    Mistake("argv-rates-method-unknown", ("rates", "cycle", "--n", "8", "--method", "lp"), {},
            ("--method",)),
    Mistake("argv-rates-node-cap-not-a-number", ("rates", "cycle", "--n", "8", "--node-cap",
                                                 "lots"), {}, ("--node-cap",)),
    plot_case("argv-plot-x-unknown", run_dir(), ("--x",), ("r", "--x", "energy")),
    Mistake("argv-plot-without-runs", ("plot",), {}, ("RUN_DIR",)),
    Mistake("argv-mpi-check-unknown-flag", ("mpi-check", "--ranks", "4"), {}, ("--ranks",)),
]

assert len({c.id for c in CASES}) == len(CASES), "case ids must be distinct"
assert len({(c.argv, tuple(sorted((k, str(v)) for k, v in c.files.items())))
            for c in CASES}) == len(CASES), "cases must be distinct mistakes"


# --- running one case -----------------------------------------------------------------------

class CaseTimeout(BaseException):
    """A case ran past ALARM_S: a hang (not an Exception, so that nothing on the way catches
    it)."""


def _on_alarm(signum, frame):
    raise CaseTimeout(f"still running after {ALARM_S} s")


def _address_space() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def call(argv, guard: bool = False):
    """cli.main(argv) under an alarm (and, with ``guard``, a cap on memory); the exit code, or
    the exception that escaped. argparse's SystemExit counts as its exit code."""
    old = signal.signal(signal.SIGALRM, _on_alarm)
    limits = resource.getrlimit(resource.RLIMIT_AS)
    if guard:
        resource.setrlimit(resource.RLIMIT_AS, (_address_space() + GUARD_BYTES, limits[1]))
    signal.alarm(ALARM_S)
    try:
        return cli.main(list(argv)), None
    except SystemExit as exc:
        return exc.code, None
    except BaseException as exc:  # noqa: BLE001: the escape is the finding
        return None, exc
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
        if guard:
            resource.setrlimit(resource.RLIMIT_AS, limits)


def make_files(root, files: dict) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if content == DIR:
            path.mkdir(exist_ok=True)
        elif content == FIFO:
            os.mkfifo(path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def check_one_line_error(command: str, code, escaped, out: str, err: str) -> str:
    """The assertions every mistake shares; returns the error line."""
    where = f"\nstdout: {out[-2000:]!r}\nstderr: {err[-3000:]!r}"
    assert escaped is None, f"{type(escaped).__name__} escaped cli.main: {escaped}{where}"
    assert "Traceback" not in err, "a traceback on stderr" + where
    assert code == 2, f"exit code {code}, expected 2" + where
    lines = err.splitlines()
    assert len(lines) == 1, f"{len(lines)} lines on stderr, expected 1" + where
    assert lines[0].startswith(f"dadao {command}: error: "), "not a one-line error" + where
    assert not out.strip(), "stdout is not empty" + where
    return lines[0]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_user_mistake(case, tmp_path, monkeypatch, capsys):
    make_files(tmp_path, case.files)
    monkeypatch.chdir(tmp_path)
    before = listing(tmp_path)
    code, escaped = call(case.argv, case.guard)
    out, err = capsys.readouterr()
    line = check_one_line_error(case.argv[0], code, escaped, out, err)
    for text in case.expect:
        assert text in line, f"the error line does not name {text!r}: {line}"
    for text in case.forbid:
        assert text not in line, f"the error line says {text!r}: {line}"
    after = listing(tmp_path)
    assert after == before, (f"written or changed: "
                             f"{sorted(set(after.items()) ^ set(before.items()))}; {line}")
    assert not (tmp_path / "runs").exists()


def test_the_catalogue_is_large():
    """At least 130 distinct mistakes, over every command and every kind of input."""
    assert len(CASES) >= 130
    commands = {c.argv[0] for c in CASES}
    assert commands >= {"run", "graph", "rates", "plot", "collect", "mpi-check"}
    texts = " ".join(" ".join(c.expect) for c in CASES)
    for section in ("graph.", "problem.", "algorithm.", "rates.", "run.", "[mpi]", "--set"):
        assert section in texts, section


# --- a UTF-8 byte order mark: works as without it, or is named ------------------------------

def _bom_either(command, code, escaped, out, err, works) -> None:
    where = f"\nstdout: {out[-2000:]!r}\nstderr: {err[-2000:]!r}"
    assert escaped is None, f"{type(escaped).__name__} escaped cli.main: {escaped}{where}"
    if code == 0:
        assert works(out), "accepted, but not as the same file without the mark" + where
        return
    line = check_one_line_error(command, code, escaped, out, err)
    assert "BOM" in line or "byte order mark" in line.lower() or "\\ufeff" in line, (
        "refused without saying that the file starts with a byte order mark: " + line)


BOM_CASES = {
    "config": (("run", "c.toml", "--dry-run"), {"c.toml": BOM + config().encode()},
               lambda out: "resolved config" in out),
    "edge-list": (("graph", "e.txt", "--json"), {"e.txt": BOM + TRIANGLE.encode()},
                  lambda out: (json.loads(out)["n"], json.loads(out)["edges"]) == (3, 3)),
    "rates-csv": (("run", "c.toml", "--dry-run"),
                  {"c.toml": config({"rates": {"kind": '"explicit"', "path": '"r.csv"'}}),
                   "r.csv": BOM + cycle_csv().encode()},
                  lambda out: "resolved config" in out),
    "libsvm": (("run", "c.toml", "--dry-run"),
               {"c.toml": config({"problem": {"kind": '"libsvm"', "path": '"d.svm"'}}),
                "d.svm": BOM + SVM.encode()},
               lambda out: "resolved config" in out),
}


@pytest.mark.parametrize("kind", list(BOM_CASES))
def test_a_byte_order_mark_works_or_is_named(kind, tmp_path, monkeypatch, capsys):
    argv, files, works = BOM_CASES[kind]
    make_files(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    before = listing(tmp_path)
    code, escaped = call(argv)
    out, err = capsys.readouterr()
    _bom_either(argv[0], code, escaped, out, err, works)
    assert listing(tmp_path) == before
