"""The config schema: defaults written out, "auto" resolved, every mistake one line naming the
file and the field."""

import re

import pytest

from dadao import config
from dadao.config import ConfigError

BASE = {
    "graph": {"family": "cycle", "n": 16},
    "problem": {"kind": "least_squares", "dim": 4},
    "run": {"t_max": 10.0},
}


def merged(**changes):
    raw = {s: dict(v) for s, v in BASE.items()}
    for dotted, value in changes.items():
        section, key = dotted.split("__")
        raw.setdefault(section, {})[key] = value
    return raw


def error(raw):
    with pytest.raises(ConfigError) as info:
        config.validate(raw, source="my.toml")
    text = str(info.value)
    assert "\n" not in text and text.startswith("my.toml: ")
    return text


def test_defaults_are_written_out():
    cfg = config.validate(merged(), "my.toml")
    assert cfg["algorithm"] == {"name": "dadao"}
    assert cfg["rates"] == {"kind": "auto"}
    assert cfg["graph"] == {"family": "cycle", "n": 16, "time_varying": 0}
    assert cfg["run"] == {"t_max": 10.0, "log_every": 10.0 / 200, "seed": 0,
                          "engine": "inprocess", "force": False}
    assert cfg["problem"] == {"kind": "least_squares", "seed": 0, "dim": 4,
                              "samples_per_node": 100, "reg": 0.0, "form": "auto"}


def test_auto_values_become_numbers():
    cfg = config.validate(merged(graph__family="random_geometric", graph__n=50), "x")
    assert cfg["graph"]["radius"] == pytest.approx((2 * 3.912023005428146 / (3.141592653589793
                                                                              * 50)) ** 0.5)
    assert cfg["graph"]["seed"] == 0
    cfg = config.validate(merged(graph__family="grid_2d", graph__n=12, graph__cols=3), "x")
    assert (cfg["graph"]["rows"], cfg["graph"]["cols"]) == (4, 3)


def test_int_is_accepted_where_a_number_is_expected():
    cfg = config.validate(merged(run__t_max=10), "x")
    assert isinstance(cfg["run"]["t_max"], float)


@pytest.mark.parametrize("raw, pattern", [
    (merged(graph__famly="cycle"), r"my.toml: graph.famly: unknown key .*did you mean 'family'"),
    (merged(run__tmax=3.0), r"run.tmax: unknown key .*did you mean 't_max'"),
    (dict(merged(), rats={"kind": "theory"}), r"\[rats\]: unknown section; did you mean 'rates'"),
    (merged(graph__n="16"), r"graph.n: expected integer >= 2, got '16' \(str\)"),
    (merged(graph__n=1), r"graph.n: must be >= 2, got 1"),
    (merged(run__force="yes"), r"run.force: expected true or false"),
    (merged(graph__family="cycel"), r"graph.family: unknown choice 'cycel'; did you mean 'cycle'"),
    (merged(algorithm__name="dadoa"), r"algorithm.name: unknown choice 'dadoa'; did you mean "
                                      r"'dadao'"),
    (merged(problem__kind="lest_squares"), r"problem.kind: .*did you mean 'least_squares'"),
    (merged(run__t_max=0.0), r"run.t_max: must be > 0, got 0"),
    (merged(run__t_max=-5.0), r"run.t_max: must be > 0, got -5"),
    (merged(run__log_every=0), r"run.log_every: must be > 0"),
    (merged(problem__kappa=10.0), r"problem.kappa: unknown key for problem.kind = "
                                  r"'least_squares'"),
    ({"graph": {"family": "cycle", "n": 16}, "problem": {"kind": "quadratic"}},
     r"run.t_max: required key is missing"),
    (merged(rates__kind="uniform"), r"rates.total: required key is missing \(for kind = "
                                    r"'uniform'\)"),
    (merged(rates__kind="explicit", rates__path="nowhere.csv"), r"rates.path: file not found"),
    (merged(graph__family="file", graph__path="nowhere.edges"), r"graph.n: not used with"),
    (merged(algorithm__gama=0.1), r"algorithm.gama: dadao has no such constant"),
    (merged(run__t_max=float("inf")), r"run.t_max: must be finite"),
])
def test_mistakes_are_one_line_naming_the_field(raw, pattern):
    assert re.search(pattern, error(raw)), error(raw)


def test_set_overrides_parse_toml_values():
    assert config.parse_set("graph.n=32") == ("graph", "n", 32)
    assert config.parse_set("run.t_max=1e3") == ("run", "t_max", 1000.0)
    assert config.parse_set("graph.family=star") == ("graph", "family", "star")
    assert config.parse_set('graph.family="star"') == ("graph", "family", "star")
    assert config.parse_set("run.force=true") == ("run", "force", True)
    with pytest.raises(ConfigError, match="expected section.key=value"):
        config.parse_set("n=3")


def test_load_applies_sets_seed_and_resolves_paths(tmp_path):
    (tmp_path / "g.edges").write_text("0 1\n1 2\n2 0\n")
    path = tmp_path / "c.toml"
    path.write_text('[graph]\nfamily = "file"\npath = "g.edges"\n[problem]\nkind = "quadratic"\n'
                    '[run]\nt_max = 5.0\n')
    cfg = config.load(str(path), sets=["problem.dim=3"], seed=7)
    assert cfg["graph"]["path"] == str(tmp_path / "g.edges")
    assert cfg["problem"]["dim"] == 3 and cfg["run"]["seed"] == 7
    # changing a selector drops the keys of the old variant
    cfg = config.load(str(path), sets=["graph.family=cycle", "graph.n=5"])
    assert cfg["graph"] == {"family": "cycle", "n": 5, "time_varying": 0}


def test_resolved_config_round_trips_through_toml(tmp_path):
    cfg = config.validate(merged(graph__family="erdos_renyi", graph__n=20), "x")
    path = tmp_path / "again.toml"
    path.write_text(config.to_toml(cfg))
    again = config.load(str(path))
    assert again == cfg
    assert config.config_hash(again) == config.config_hash(cfg)
    assert config.config_hash(dict(cfg, run=dict(cfg["run"], seed=1))) != config.config_hash(cfg)


def test_unreadable_files_are_one_line(tmp_path):
    with pytest.raises(ConfigError, match=r"missing.toml: config file not found"):
        config.load(str(tmp_path / "missing.toml"))
    bad = tmp_path / "bad.toml"
    bad.write_text("[graph\nfamily = 3\n")
    with pytest.raises(ConfigError, match=r"bad.toml: not valid TOML"):
        config.load(str(bad))


def test_reference_lists_every_key():
    text = config.reference_markdown()
    for section, (_, common, variants) in config.SCHEMA.items():
        for key in list(common) + [k for fields in variants.values() for k in fields]:
            assert f"`{section}.{key}`" in text


def test_an_engine_can_declare_its_own_config_section(monkeypatch, tmp_path):
    """An engine module's own section is validated, given its defaults when the config selects
    the engine, and listed in the reference; run.engine's choices come from the registry."""
    import sys
    import types

    from dadao import engines
    from dadao.engines.base import Engine

    class Fake(Engine):
        name = "fake"
        config_section = "fake"
        config_fields = {"latency": config.Field("float", 1.0, "seconds per message",
                                                 minimum=0)}

    module = types.ModuleType("fake_engine_for_tests")
    module.ENGINE = Fake()
    monkeypatch.setitem(sys.modules, "fake_engine_for_tests", module)
    monkeypatch.setattr(engines, "REGISTRY", engines.REGISTRY + (
        engines.EngineEntry("fake", "fake_engine_for_tests", "a test engine"),))
    base = '[graph]\nfamily = "cycle"\nn = 8\n[problem]\nkind = "quadratic"\n[run]\nt_max = 1.0\n'
    path = tmp_path / "c.toml"
    path.write_text(base + 'engine = "fake"\n')
    assert config.load(str(path))["fake"] == {"latency": 1.0}
    path.write_text(base + 'engine = "fake"\n[fake]\nlatency = -1.0\n')
    with pytest.raises(ConfigError, match=r"c\.toml: fake\.latency: must be >= 0, got -1"):
        config.load(str(path))
    path.write_text(base)
    assert "fake" not in config.load(str(path))
    path.write_text(base + '[fake]\nlatncy = 2.0\n')
    with pytest.raises(ConfigError, match=r"fake\.latncy: unknown key .*did you mean 'latency'"):
        config.load(str(path))
    reference = config.reference_markdown()
    assert "`fake.latency`" in reference and '"inprocess" | "mpi" | "timing" | "fake"' in reference
