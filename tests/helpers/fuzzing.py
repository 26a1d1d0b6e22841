"""Seeded inputs for `dadao run` and the oracle every one of them must meet.

Used by tests/test_fuzz.py (a few hundred cases in the suite) and simulations/fuzz_inputs.py (the
same generator, thousands of cases). Two kinds of case, each a function of its kind and seed
alone (``numpy.random.default_rng(seed)``), so that a failure reproduces from its id:

- ``mutation_case(seed)``: one of the shipped configs (configs/*.toml), mutated once (a key
  dropped, a value of another type, a number set to 0, -1, 1e300, inf or nan, a wrong string,
  two values swapped, an unknown key or section, the file cut at a random byte), checked with
  ``dadao run CONFIG --dry-run``;
- ``random_case(seed)``: a config drawn from the schema (dadao/config.py): a valid family with a
  small n (or an edge-list file), any method with a problem it mostly supports, rates of every
  kind, a tiny horizon; actually run, into a run directory.

The oracle (``check``): the command returns (no hang: a per-case alarm), its exit code is one of
0, 1, 2, 3, no exception escapes ``dadao.cli.main`` (anything but a DadaoError is a traceback:
a bug), an exit 2 or 3 prints exactly one line on stderr, "dadao run: error: ...", and writes
nothing; a dry run writes nothing; a run that exits 0 leaves meta.json with status "completed"
and a trace.csv that reads back, one that exits 1 says "diverged" (a "failed" run is a crash:
its error.log holds a traceback).
"""

from __future__ import annotations

import contextlib
import copy
import faulthandler
import glob
import io
import math
import os
import re
import signal
import string
import tomllib
import traceback
from dataclasses import dataclass, field

import numpy as np
import tomli_w

from helpers import ROOT, listing

CONFIGS = sorted(glob.glob(str(ROOT / "configs" / "*.toml")))
MUTATIONS = ("drop", "type", "number", "string", "swap", "unknown", "truncate", "boundary")
#: values of the "boundary" mutation, which sets a key the schema has for this config (present
#: or not, an algorithm's constant included) to an edge of its range; integers stay small
BOUNDARY_INTS = (0, 1, 2, 3, 64, -1)
BOUNDARY_FLOATS = (0.0, -0.0, 1e-300, 1e-9, 0.999999, 1.0, 1.000001, 1e9, -1e-9, -1.0)
EXIT_CODES = (0, 1, 2, 3)
#: seconds a case may run before it counts as a hang (alarm), and before the process is ended
#: with every thread's traceback (a hang inside compiled code, which no alarm interrupts)
TIMEOUT_S = {"mutation": 60, "random": 120}
HARD_TIMEOUT_S = 300


@dataclass
class FuzzCase:
    """One generated input: ``files`` (name -> text or bytes) written in an empty folder, then
    ``dadao ARGV`` run there."""

    kind: str
    seed: int
    description: str
    files: dict
    argv: list

    @property
    def id(self) -> str:
        text = re.sub(r"\s+", "_", self.description)
        return f"{self.kind}-s{self.seed}-{text[:90]}"

    @property
    def reproduce(self) -> str:
        return (f"python simulations/fuzz_inputs.py --kind {self.kind} --seed {self.seed} "
                f"--cases 1 -v")

    @property
    def dry_run(self) -> bool:
        return "--dry-run" in self.argv


@dataclass
class Outcome:
    """What a case did: exit code (None when an exception escaped or it hung), the output, and
    every way it broke the oracle (empty: it passed)."""

    code: int | None
    out: str
    err: str
    problems: list = field(default_factory=list)
    traceback: str | None = None
    seconds: float = 0.0

    @property
    def label(self) -> str:
        """How it ended, for the summary's counts."""
        if self.traceback is not None:
            return "traceback"
        return "hang" if self.code is None else f"exit {self.code}"


# --- mutations of the shipped configs -------------------------------------------------------

def _shipped(rng) -> tuple[str, str, dict]:
    path = CONFIGS[int(rng.integers(len(CONFIGS)))]
    with open(path, "rb") as fh:
        raw = fh.read()
    return os.path.basename(path), raw.decode(), tomllib.loads(raw.decode())


def _leaves(doc: dict) -> list[tuple[str, str]]:
    return [(s, k) for s, body in doc.items() if isinstance(body, dict) for k in body]


def _typo(rng, word: str) -> str:
    """``word`` with one letter dropped, doubled, swapped or changed."""
    if len(word) < 2:
        return word + "x"
    i = int(rng.integers(len(word) - 1))
    how = int(rng.integers(4))
    if how == 0:
        return word[:i] + word[i + 1:]
    if how == 1:
        return word[:i] + word[i] + word[i:]
    if how == 2:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return word[:i] + str(rng.choice(list(string.ascii_lowercase))) + word[i + 1:]


def _other_type(rng, value):
    """A value of another TOML type than ``value``'s."""
    choices = ["s", "i", "f", "b", "a", "t"]
    own = ("b" if isinstance(value, bool) else "i" if isinstance(value, int) else
           "f" if isinstance(value, float) else "s" if isinstance(value, str) else
           "a" if isinstance(value, list) else "t")
    choices.remove(own)
    pick = str(rng.choice(choices))
    if pick == "s":
        return str(value) if not isinstance(value, str) else "x"
    if pick == "i":
        return int(rng.choice([0, 1, 3, 12]))
    if pick == "f":
        return float(rng.choice([0.0, 0.5, 2.0, 16.0]))
    if pick == "b":
        return bool(rng.integers(2))
    if pick == "a":
        return [value] if not isinstance(value, (dict, list)) else [1, 2]
    return {"value": value} if not isinstance(value, dict) else {}


WORDS = ("auto", "none", "", "Cycle", "least_squares", "dadao", "file", "mpi", "uniform",
         "random", "star ", "ＣＹＣＬＥ", "../etc/passwd", "1e3", "true")


def _wrong_string(rng, value: str) -> str:
    how = int(rng.integers(3))
    if how == 0:
        return _typo(rng, value)
    if how == 1:
        return value.upper() if value != value.upper() else value.lower() + "_"
    return str(rng.choice(WORDS))


def mutation_case(seed: int) -> FuzzCase:
    """A shipped config with one mutation, as ``dadao run NAME --dry-run``."""
    rng = np.random.default_rng([0xF022, seed])
    name, text, doc = _shipped(rng)
    how = str(rng.choice(MUTATIONS))
    files = {}
    if name == "karate.toml":
        files["karate.edges"] = (ROOT / "configs" / "karate.edges").read_text()
    doc = copy.deepcopy(doc)
    leaves = _leaves(doc)
    section, key = leaves[int(rng.integers(len(leaves)))]
    if how == "truncate":
        data = text.encode()
        at = int(rng.integers(len(data)))
        files[name] = data[:at]
        return FuzzCase("mutation", seed, f"{name}:truncate:at byte {at}", files,
                        ["run", name, "--dry-run"])
    if how == "drop":
        if rng.random() < 0.15:
            del doc[section]
            what = f"drop[{section}]"
        else:
            del doc[section][key]
            what = f"drop {section}.{key}"
    elif how == "type":
        if rng.random() < 0.1:
            doc[section] = _other_type(rng, doc[section])
            what = f"[{section}]={doc[section]!r}"
        else:
            doc[section][key] = _other_type(rng, doc[section][key])
            what = f"{section}.{key}={doc[section][key]!r}"
    elif how == "number":
        numeric = [(s, k) for s, k in leaves if isinstance(doc[s][k], (int, float))
                   and not isinstance(doc[s][k], bool)]
        section, key = numeric[int(rng.integers(len(numeric)))]
        old = doc[section][key]
        choice = str(rng.choice(["0", "-1", "1e300", "inf", "-inf", "nan", "0.5"]))
        value = (int(choice) if isinstance(old, int) else float(choice)) \
            if choice in ("0", "-1") else float(choice)
        doc[section][key] = value
        what = f"{section}.{key}={value!r}"
    elif how == "string":
        strings = [(s, k) for s, k in leaves if isinstance(doc[s][k], str)]
        section, key = strings[int(rng.integers(len(strings)))]
        doc[section][key] = _wrong_string(rng, doc[section][key])
        what = f"{section}.{key}={doc[section][key]!r}"
    elif how == "swap":
        (s1, k1), (s2, k2) = [leaves[int(i)] for i in rng.choice(len(leaves), 2, replace=False)]
        doc[s1][k1], doc[s2][k2] = doc[s2][k2], doc[s1][k1]
        what = f"swap {s1}.{k1}<->{s2}.{k2}"
    elif how == "boundary":
        section, key, spec = _schema_key(rng, doc)
        doc.setdefault(section, {})
        if not isinstance(doc[section], dict):
            doc[section] = {}
        if spec == "int":
            value = int(rng.choice(BOUNDARY_INTS))
        elif spec == "bool":
            value = bool(rng.integers(2))
        else:
            value = float(rng.choice(BOUNDARY_FLOATS))
        doc[section][key] = value
        what = f"{section}.{key}={value!r}"
    else:  # unknown
        pick = rng.random()
        if pick < 0.2:
            new = _typo(rng, section)
            doc.setdefault(new, {})
            if isinstance(doc[new], dict):
                doc[new]["x"] = 1
            what = f"section[{new}]"
        elif pick < 0.7:
            new = _typo(rng, key)
            doc[section][new] = doc[section][key]
            what = f"key {section}.{new}"
        else:
            new = "".join(rng.choice(list(string.ascii_lowercase + "_"), int(rng.integers(1, 9))))
            doc[section][new] = _other_type(rng, "")
            what = f"key {section}.{new}"
    files[name] = tomli_w.dumps(doc)
    return FuzzCase("mutation", seed, f"{name}:{how}:{what}", files, ["run", name, "--dry-run"])


def _schema_key(rng, doc: dict) -> tuple[str, str, str]:
    """(section, key, type) of a key the schema gives this config's sections (selectors and
    paths left out: a new selector would ask for other keys, and optimal rates are slow), or
    one of its algorithm's tunable constants."""
    from dadao import config
    from dadao.algorithms import get_algorithm, names

    keys = []
    for section, (selector, _, _) in config.schema().items():
        body = doc.get(section) if isinstance(doc.get(section), dict) else {}
        value = body.get(selector) if selector else None
        try:
            fields = config.section_fields(section, value)
        except Exception:  # noqa: BLE001: a mutated selector
            continue
        if section == "graph" and isinstance(body.get("time_varying"), int):
            fields = {**fields, "switch_period": config.SWITCH_PERIOD}
        keys += [(section, k, f.type) for k, f in fields.items()
                 if k != selector and f.type in ("int", "float", "bool")]
    name = (doc.get("algorithm") or {}).get("name", "dadao")
    if name in names():
        keys += [("algorithm", k, "float") for k in getattr(get_algorithm(name), "tunables", ())]
    return keys[int(rng.integers(len(keys)))]


# --- random configs of the schema -----------------------------------------------------------

SMALL_FAMILIES = ("complete", "cycle", "path", "star", "grid_2d", "torus_2d", "hypercube",
                  "barbell", "erdos_renyi", "random_geometric", "file")
ASYNC = ("dadao", "continuized", "async_sgd", "randomized_gossip", "accelerated_gossip")
SYNC = ("adom_plus", "adom_plus_mc", "msda", "opapc", "extra", "diging", "dgd")
TIME_VARYING = ("dadao", "async_sgd", "randomized_gossip", "adom_plus", "adom_plus_mc",
                "diging", "dgd")
#: problems each method solves (dadao.algorithms: the gossip methods average, the dual methods
#: need the conjugate gradient)
SOLVES = {name: ("quadratic", "least_squares", "logistic", "averaging", "libsvm")
          for name in ASYNC + SYNC}
SOLVES.update(randomized_gossip=("averaging",), accelerated_gossip=("averaging",),
              continuized=("quadratic", "least_squares", "averaging"),
              msda=("quadratic", "least_squares", "averaging"))


def _graph(rng) -> tuple[dict, dict, int]:
    """([graph] section, files, n)."""
    family = str(rng.choice(SMALL_FAMILIES))
    g = {"family": family}
    files = {}
    if family == "complete":
        n = int(rng.integers(2, 8))
    elif family in ("cycle", "path", "star"):
        n = int(rng.integers(3 if family == "cycle" else 2, 11))
    elif family == "grid_2d":
        rows, cols = int(rng.integers(1, 5)), int(rng.integers(2, 5))
        n = rows * cols
        if rows == cols and rng.random() < 0.5:
            pass  # rows and cols "auto": a square
        else:
            g.update(rows=rows, cols=cols) if rng.random() < 0.6 else g.update(rows=rows)
    elif family == "torus_2d":
        rows, cols = int(rng.integers(3, 5)), int(rng.integers(3, 5))
        n = rows * cols
        g.update(rows=rows, cols=cols)
    elif family == "hypercube":
        n = int(rng.choice([2, 4, 8, 16]))
    elif family == "barbell":
        n = int(rng.choice([6, 8, 10]))
    elif family == "erdos_renyi":
        n = int(rng.integers(3, 13))
        if rng.random() < 0.6:
            g["p"] = round(float(rng.uniform(0.2, 1.0) if rng.random() < 0.8
                                 else rng.uniform(0.001, 0.1)), 4)
        g["seed"] = int(rng.integers(1000))
    elif family == "random_geometric":
        n = int(rng.integers(3, 13))
        if rng.random() < 0.6:
            g["radius"] = round(float(rng.uniform(0.2, 1.0) if rng.random() < 0.8
                                      else rng.uniform(0.001, 0.1)), 4)
        g["seed"] = int(rng.integers(1000))
    else:  # an edge-list file: a random tree and a few more edges, in any order
        n = int(rng.integers(3, 11))
        edges = {(int(rng.integers(i)), i) for i in range(1, n)}
        for _ in range(int(rng.integers(0, n))):
            u, v = (int(x) for x in rng.choice(n, 2, replace=False))
            edges.add((min(u, v), max(u, v)))
        lines = [f"{u} {v}" if rng.random() < 0.8 else f"{v},{u}" for u, v in sorted(edges)]
        order = rng.permutation(len(lines))
        body = "\n".join(lines[int(i)] for i in order)
        files["g.edges"] = "# a random connected graph\n" + body + "\n"
        g["path"] = "g.edges"
    if family != "file":
        g["n"] = n
    return g, files, n


def _problem(rng, kind: str, n: int) -> tuple[dict, dict]:
    p = {"kind": kind}
    files = {}
    dim = int(rng.integers(1, 5))
    if rng.random() < 0.3:
        p["seed"] = int(rng.integers(1000))
    if kind == "quadratic":
        p.update(dim=dim, kappa=round(float(rng.uniform(1.0, 30.0)), 3))
    elif kind == "least_squares":
        reg = 0.0 if rng.random() < 0.7 else round(float(rng.uniform(0.01, 1.0)), 3)
        low = dim + 1 if reg == 0.0 else 1
        p.update(dim=dim, samples_per_node=int(rng.integers(low, low + 20)), reg=reg,
                 form=str(rng.choice(["auto", "quadratic", "rows"])))
    elif kind == "logistic":
        p.update(dim=dim, samples_per_node=int(rng.integers(1, 21)))
        if rng.random() < 0.4:
            p["reg"] = round(float(rng.uniform(0.01, 1.0)), 3)
    elif kind == "averaging":
        p["dim"] = dim
    else:  # libsvm
        loss = str(rng.choice(["logistic", "least_squares"]))
        m = int(rng.integers(1, 7)) if loss == "logistic" else int(rng.integers(dim, dim + 6))
        lines = []
        for i in range(n * m):
            label = (float(rng.choice([-1.0, 1.0])) if loss == "logistic"
                     else round(float(rng.normal()), 3))
            feats = [f"{j + 1}:{rng.normal():.3f}" for j in range(dim)
                     if j == 0 or rng.random() < 0.8]
            lines.append(f"{label:g} " + " ".join(feats))
        if loss == "logistic":  # both labels present
            lines[0] = "1 " + lines[0].split(" ", 1)[1]
            lines[-1] = "-1 " + lines[-1].split(" ", 1)[1]
        files["d.svm"] = "\n".join(lines) + "\n"
        p.update(path="d.svm", loss=loss, split=str(rng.choice(["iid", "label"])))
        if rng.random() < 0.3:
            p["reg"] = round(float(rng.uniform(0.01, 1.0)), 3)
    return p, files


def _edges_of(g: dict, files: dict) -> np.ndarray | None:
    """The edge array (edge_array order) of a static [graph] section; None if the library
    cannot build it (the run then meets the same error, which the oracle judges)."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _build_edges(g, files)
    except Exception:  # noqa: BLE001
        return None


def _build_edges(g: dict, files: dict) -> np.ndarray:
    from dadao import graphs

    if g["family"] == "file":
        import networkx as nx

        H = nx.Graph()
        for line in files["g.edges"].splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                u, v = re.split(r"[\s,]+", line)[:2]
                H.add_edge(int(u), int(v))
        G = graphs.from_networkx(H)
    else:
        params = {k: v for k, v in g.items() if k not in ("family", "n", "seed")}
        G = graphs.make_graph(g["family"], g["n"], seed=g.get("seed"), **params)
    return graphs.edge_array(G)


def random_case(seed: int) -> FuzzCase:
    """A config drawn from the schema, run for real: ``dadao run c.toml --out out``."""
    rng = np.random.default_rng([0x5EED, seed])
    g, files, n = _graph(rng)
    name = str(rng.choice(ASYNC + SYNC))
    kinds = SOLVES[name] if rng.random() < 0.9 else SOLVES["dadao"]
    kind = str(rng.choice(kinds))
    time_varying = (g["family"] in ("erdos_renyi", "random_geometric")
                    and rng.random() < (0.5 if name in TIME_VARYING else 0.1))
    if time_varying:
        g["time_varying"] = int(rng.integers(2, 5))
        if rng.random() < 0.4:
            g["switch_period"] = round(float(rng.uniform(0.1, 2.0)), 3)
    problem, pfiles = _problem(rng, kind, n)
    files.update(pfiles)
    rates = {"kind": "auto"}
    if name in ASYNC or rng.random() < 0.05:
        pick = rng.random()
        if pick < 0.25:
            rates = {"kind": "theory"}
        elif pick < 0.45:
            rates = {"kind": "uniform",
                     "total": round(float(np.exp(rng.uniform(np.log(0.01), np.log(100.0)))), 4)}
        elif pick < 0.6 and not time_varying and (edges := _edges_of(g, files)) is not None:
            scale = float(rng.uniform(0.2, 10.0))
            rows = [f"{u},{v},{scale * rng.uniform(0.5, 2.0):.6g}" for u, v in edges.tolist()]
            order = rng.permutation(len(rows))
            files["r.csv"] = "u,v,rate\n" + "\n".join(rows[int(i)] for i in order) + "\n"
            rates = {"kind": "explicit", "path": "r.csv"}
        elif pick < 0.65 and not time_varying:
            from dadao.rates import optimal

            rates = {"kind": "sdp", "method": str(rng.choice(optimal.METHODS))}
            if rng.random() < 0.3:
                rates["solver"] = str(rng.choice(("auto",) + tuple(
                    s for s in optimal.SOLVERS if s != "mosek")))
            if rng.random() < 0.2:
                rates["node_cap"] = round(float(rng.uniform(0.5, 20.0)), 3)
    algorithm = {"name": name}
    if rng.random() < 0.1:
        from dadao.algorithms import get_algorithm

        tunables = tuple(getattr(get_algorithm(name), "tunables", ()))
        if tunables:
            value = float(np.exp(rng.uniform(np.log(1e-3), np.log(1e2))))
            algorithm[str(rng.choice(tunables))] = round(value, 6)
    t_max = round(float(rng.uniform(1.0, 8.0) if rng.random() < 0.85
                        else rng.uniform(0.001, 0.5)), 4)
    run = {"t_max": t_max, "seed": int(rng.integers(10_000))}
    if rng.random() < 0.5:
        run["log_every"] = round(t_max / float(rng.uniform(2.0, 20.0) if rng.random() < 0.85
                                               else rng.uniform(0.3, 1.0)), 6)
    if rng.random() < 0.25:
        run["force"] = True
    doc = {"graph": g, "problem": problem, "algorithm": algorithm, "rates": rates, "run": run}
    files["c.toml"] = tomli_w.dumps(doc)
    what = (f"{name}:{g['family']}(n={n}{',K=%d' % g['time_varying'] if time_varying else ''})"
            f":{kind}:rates={rates['kind']}:t_max={t_max}")
    return FuzzCase("random", seed, what, files, ["run", "c.toml", "--out", "out"])


def case(kind: str, seed: int) -> FuzzCase:
    return mutation_case(seed) if kind == "mutation" else random_case(seed)


# --- running a case and the oracle ----------------------------------------------------------

class CaseTimeout(BaseException):
    """A case ran past its alarm (a BaseException, so that no ``except Exception`` on the way
    takes it for a crash of the run)."""


def execute(fcase: FuzzCase, folder, timeout: float | None = None,
            figures: bool = True) -> Outcome:
    """Write the case's files in ``folder`` (empty), run it there in this process, check it.

    ``figures=False`` skips drawing the run directory's convergence figures (matplotlib takes
    nearly all of a tiny run's time), everything else runs as usual."""
    import time

    from dadao import cli
    from dadao.report import figures as figure_module

    folder = os.fspath(folder)
    for name, content in fcase.files.items():
        path = os.path.join(folder, name)
        mode = "wb" if isinstance(content, bytes) else "w"
        with open(path, mode) as fh:
            fh.write(content)
    before = listing(folder)
    timeout = timeout or TIMEOUT_S[fcase.kind]

    def on_alarm(signum, frame):
        raise CaseTimeout(f"still running after {timeout} s")

    out, err = io.StringIO(), io.StringIO()
    code, tb = None, None
    cwd = os.getcwd()
    writer = figure_module.write_run_figures
    if not figures:
        figure_module.write_run_figures = lambda trace, meta, stem: None
    old = signal.signal(signal.SIGALRM, on_alarm)
    faulthandler.dump_traceback_later(HARD_TIMEOUT_S, exit=True)
    signal.alarm(int(math.ceil(timeout)))
    t0 = time.perf_counter()
    try:
        os.chdir(folder)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(list(fcase.argv))
    except CaseTimeout:
        code = None
    except SystemExit as exc:  # argparse: not expected, the argv are valid
        code = exc.code
        tb = traceback.format_exc()
    except BaseException:  # noqa: BLE001: the escape is the finding
        tb = traceback.format_exc()
    finally:
        signal.alarm(0)
        faulthandler.cancel_dump_traceback_later()
        signal.signal(signal.SIGALRM, old)
        figure_module.write_run_figures = writer
        os.chdir(cwd)
    outcome = Outcome(code, out.getvalue(), err.getvalue(), traceback=tb,
                      seconds=time.perf_counter() - t0)
    check(fcase, outcome, folder, before)
    return outcome


def _where(tb: str) -> str:
    """'Type: message (file:line in function)' of the innermost frame of a traceback."""
    frames = re.findall(r'File "([^"]+)", line (\d+), in (\S+)', tb)
    last = tb.strip().splitlines()[-1] if tb.strip() else ""
    if not frames:
        return last
    file, line, func = frames[-1]
    return f"{last} ({os.path.relpath(file, ROOT)}:{line} in {func})"


def check(fcase: FuzzCase, o: Outcome, folder: str, before: dict) -> None:
    """Append to ``o.problems`` every way the outcome breaks the oracle (module docstring)."""
    p = o.problems
    if o.traceback is not None:
        p.append(f"exception escaped cli.main: {_where(o.traceback)}")
        return
    if o.code is None:
        p.append(f"hang: no answer within {TIMEOUT_S[fcase.kind]} s")
        return
    if o.code not in EXIT_CODES:
        p.append(f"exit code {o.code!r} is not one of {EXIT_CODES}")
    lines = o.err.splitlines()
    if o.code in (2, 3):
        if len(lines) != 1 or not lines[0].startswith("dadao run: error: "):
            p.append(f"exit {o.code} with {len(lines)} line(s) on stderr: {o.err[-600:]!r}")
        if "Traceback" in o.err:
            p.append("a traceback on stderr")
    after = listing(folder)
    written = sorted(set(after) - set(before))
    changed = sorted(k for k in before if after.get(k) != before[k])
    if changed:
        p.append(f"input files changed: {changed}")
    if fcase.dry_run:
        if written:
            p.append(f"a dry run wrote {written[:5]}")
        if o.code == 0 and "resolved config" not in o.out:
            p.append("dry run exit 0 without the resolved config on stdout")
        return
    run_dir = os.path.join(folder, "out")
    if o.code in (2, 3):
        if written:
            p.append(f"exit {o.code} but written: {written[:5]}")
        return
    if o.code in (0, 1):
        _check_run_directory(o, run_dir)


def _check_run_directory(o: Outcome, run_dir: str) -> None:
    import json

    from dadao import rundir

    p = o.problems
    meta_path = os.path.join(run_dir, "meta.json")
    if not os.path.isfile(meta_path):
        p.append(f"exit {o.code} without {meta_path}")
        return
    try:
        with open(meta_path) as fh:
            meta = json.load(fh)
    except ValueError as exc:
        p.append(f"meta.json does not read back: {exc}")
        return
    status = meta.get("status") if isinstance(meta, dict) else None
    if status == "failed":
        log = os.path.join(run_dir, "error.log")
        tb = open(log).read() if os.path.isfile(log) else ""
        o.traceback = tb or None
        p.append(f"the run crashed (status failed): {meta.get('error')}"
                 + (f"; {_where(tb)}" if tb else ""))
        return
    wanted = {0: "completed", 1: "diverged"}[o.code]
    if status != wanted:
        p.append(f"exit {o.code} but meta.json status {status!r} (expected {wanted!r})")
    try:
        trace, _ = rundir.read_run(run_dir)
    except Exception as exc:  # noqa: BLE001
        p.append(f"trace.csv does not read back: {type(exc).__name__}: {exc}")
        return
    if not len(trace) or trace["time"][0] != 0.0:
        p.append(f"trace.csv has {len(trace)} rows, first time "
                 f"{trace['time'][0] if len(trace) else None}")
    elif (status == "completed" and not (meta.get("algorithm") or {}).get("synchronous")
          and trace["time"][-1] != meta.get("t_max")):
        # (synchronous methods run whole iterations: their trace ends at floor(t_max))
        p.append(f"completed, but the trace ends at {trace['time'][-1]} != t_max "
                 f"{meta.get('t_max')}")


def report(fcase: FuzzCase, o: Outcome) -> str:
    """The failure of one case: its id, how to reproduce it, its input and what went wrong."""
    config = next((v for k, v in fcase.files.items() if k.endswith(".toml")), b"")
    if isinstance(config, bytes):
        config = config.decode(errors="replace")
    text = [f"case {fcase.id} (seed {fcase.seed}, {fcase.description})",
            f"  reproduce: {fcase.reproduce}",
            f"  argv: dadao {' '.join(fcase.argv)}",
            *(f"  problem: {x}" for x in o.problems),
            "  config:", *("    " + line for line in config.splitlines())]
    if o.traceback:
        text += ["  traceback:", *("    " + line for line in o.traceback.splitlines()[-25:])]
    elif o.err:
        text += ["  stderr:", *("    " + line for line in o.err.splitlines()[-10:])]
    return "\n".join(text)
