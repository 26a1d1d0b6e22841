"""The optimal-rates cache trusts nothing it reads (issue 12, defect 2).

An entry that cannot be read (truncated, empty, junk, wrong keys or types), that is not the
entry of this problem, or whose rates are not what it claims (tampered, failing verification,
not tight, worse than theory-uniform rates) is a miss: the rates are solved again, the entry is
replaced atomically and one DadaoWarning says so. Solves are on a 6-node barbell (a few
milliseconds, saving 22% against theory-uniform rates).
"""

from __future__ import annotations

import io
import json
import warnings

import numpy as np
import pytest

from dadao import cli, graphs
from dadao.errors import DadaoWarning
from dadao.rates.optimal import optimal_rates, rates_cache_dir
from dadao.rates.optimal import cache as rates_cache

N = 6


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DADAO_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def solved():
    """(edges, the first result, the path of its cache entry)."""
    edges = graphs.edge_array(graphs.make_graph("barbell", N))
    first = optimal_rates(edges, N)
    assert not first.from_cache and first.exact and first.saving > 0.2, first.label
    (entry,) = rates_cache_dir().glob("*.npz")
    return edges, first, entry


def npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def entry_parts(entry):
    with np.load(entry, allow_pickle=False) as data:
        return np.array(data["rates"]), json.loads(str(data["meta"]))


def solve_warning_once(edges):
    """optimal_rates again, with exactly one DadaoWarning (returned with the result)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = optimal_rates(edges, N)
    ours = [w for w in caught if issubclass(w.category, DadaoWarning)]
    assert len(ours) == 1, [str(w.message) for w in caught]
    return result, str(ours[0].message)


def assert_replaced(edges, first, entry, result, message):
    """Solved again to the same rates, said in one line, and the entry is good again."""
    assert not result.from_cache
    np.testing.assert_allclose(result.rates, first.rates, rtol=1e-9)
    assert result.total == pytest.approx(first.total, rel=1e-9)
    assert "cache entry" in message and "unusable" in message and "replaced" in message
    assert str(entry) in message and "\n" not in message
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the replaced entry is used without any warning
        again = optimal_rates(edges, N)
    assert again.from_cache
    np.testing.assert_array_equal(again.rates, result.rates)


def truncated(entry):
    entry.write_bytes(entry.read_bytes()[: entry.stat().st_size // 2])


def empty(entry):
    entry.write_bytes(b"")


def junk(entry):
    entry.write_bytes(b"\x00garbage, not a zip file\xff" * 20)


def wrong_keys(entry):
    entry.write_bytes(npz_bytes(lambdas=np.ones(7), info=np.array("{}")))


def meta_not_json(entry):
    rates, _ = entry_parts(entry)
    entry.write_bytes(npz_bytes(rates=rates, meta=np.array("{not json")))


def meta_a_list(entry):
    rates, _ = entry_parts(entry)
    entry.write_bytes(npz_bytes(rates=rates, meta=np.array("[1, 2]")))


def meta_missing_a_field(entry):
    rates, meta = entry_parts(entry)
    del meta["label"]
    entry.write_bytes(npz_bytes(rates=rates, meta=np.array(json.dumps(meta))))


def meta_wrong_types(entry):
    rates, meta = entry_parts(entry)
    meta.update(info=[1, 2], uniform_total="big", exact="yes")
    entry.write_bytes(npz_bytes(rates=rates, meta=np.array(json.dumps(meta))))


def rates_of_wrong_length(entry):
    rates, meta = entry_parts(entry)
    entry.write_bytes(npz_bytes(rates=rates[:-1], meta=np.array(json.dumps(meta))))


def rates_as_text(entry):
    _, meta = entry_parts(entry)
    entry.write_bytes(npz_bytes(rates=np.array(["a", "b"]), meta=np.array(json.dumps(meta))))


def rates_times_ten_in_place(entry):
    """The bytes changed under the digest the entry holds."""
    rates, meta = entry_parts(entry)
    entry.write_bytes(npz_bytes(rates=10 * rates, meta=np.array(json.dumps(meta))))


CORRUPTIONS = [truncated, empty, junk, wrong_keys, meta_not_json, meta_a_list,
               meta_missing_a_field, meta_wrong_types, rates_of_wrong_length, rates_as_text,
               rates_times_ten_in_place]


@pytest.mark.parametrize("corrupt", CORRUPTIONS, ids=lambda f: f.__name__)
def test_an_unreadable_or_altered_entry_is_solved_again_and_replaced(solved, corrupt):
    edges, first, entry = solved
    corrupt(entry)
    result, message = solve_warning_once(edges)
    assert_replaced(edges, first, entry, result, message)


def store_as_if_solved(entry, rates, **meta_changes):
    """A well-formed entry (its digest recomputed by the cache itself) holding these rates."""
    _, meta = entry_parts(entry)
    meta.update({"total": float(np.nansum(rates)), **meta_changes})
    rates_cache.store(entry.stem, rates, meta)


@pytest.mark.parametrize("name,rates_of,changes,reason", [
    # ten times the gossip for the same condition: "optimal (cached)" with saving -504% before
    ("ten times the rates", lambda r: 10 * r, {}, "not tight"),
    ("a tenth of the rates", lambda r: r / 10, {}, "verification"),
    ("a disconnecting zero", lambda r: np.where(np.arange(len(r)) == 3, 0.0, r), {},
     "verification"),
    ("a negative rate", lambda r: np.where(np.arange(len(r)) == 0, -1.0, r), {},
     "verification"),
    ("not finite", lambda r: np.where(np.arange(len(r)) == 2, np.nan, r), {}, "non-finite"),
    ("a total it does not have", lambda r: r, {"total": 1.0}, "claims"),
    ("an inexact method claimed exact", lambda r: r, {"status": "optimal_inaccurate"}, "exact"),
    ("theory-uniform total claimed lower", lambda r: r, {"uniform_total": 1.0}, "uniform"),
    ("an unknown method", lambda r: r, {"method": "magic"}, "method"),
])
def test_a_well_formed_entry_that_is_not_what_it_claims_is_a_miss(solved, name, rates_of,
                                                                   changes, reason):
    edges, first, entry = solved
    store_as_if_solved(entry, rates_of(first.rates.copy()), **changes)
    result, message = solve_warning_once(edges)
    assert reason in message, (name, message)
    assert_replaced(edges, first, entry, result, message)


def test_worse_than_theory_uniform_rates_is_a_miss(solved):
    """Tight and verified, but a total above theory-uniform rates': not the exact optimum."""
    from dadao.rates import choices

    edges, first, entry = solved
    uniform = choices.theory_rates(edges, N)
    store_as_if_solved(entry, uniform)  # tight, saving 0: the optimum of edge-transitive graphs
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cached = optimal_rates(edges, N)
    assert cached.from_cache and cached.saving == pytest.approx(0.0, abs=1e-9)
    # fifty times the rate of one edge, rescaled to be tight: a larger total for the condition
    worse = uniform.copy()
    worse[0] *= 50.0
    c = graphs.rate_constants(edges, worse, N)
    worse *= np.sqrt(2 * c["chi_1"] * c["chi_2"])
    assert worse.sum() > uniform.sum() * 1.01
    store_as_if_solved(entry, worse)
    result, message = solve_warning_once(edges)
    assert "above" in message and "uniform" in message, message
    assert_replaced(edges, first, entry, result, message)


def test_an_entry_of_another_problem_is_a_miss(solved):
    """A file moved or copied under another key: the entry names the problem it solved."""
    edges, first, entry = solved
    capped = optimal_rates(edges, N, node_caps=100.0)
    (other,) = set(rates_cache_dir().glob("*.npz")) - {entry}
    other.write_bytes(entry.read_bytes())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        again = optimal_rates(edges, N, node_caps=100.0)
    messages = [str(w.message) for w in caught if issubclass(w.category, DadaoWarning)]
    assert not again.from_cache and len(messages) == 1 and "another problem" in messages[0]
    np.testing.assert_allclose(again.rates, capped.rates, rtol=1e-9)


def test_the_cli_solves_again_with_one_warning_line(solved, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    edges, first, entry = solved
    truncated(entry)
    code = cli.main(["rates", "barbell", "--n", str(N), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dadao rates: warning: cache entry "), err
    info = json.loads(out)
    assert not info["optimal"]["from_cache"]
    assert info["optimal"]["total"] == pytest.approx(first.total, rel=1e-9)
    assert info["optimal"]["saving"] == pytest.approx(first.saving, rel=1e-6)
