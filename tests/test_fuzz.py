"""A seeded fuzzer of `dadao run` in the suite (tests/helpers/fuzzing.py has the generator and
the oracle; simulations/fuzz_inputs.py runs thousands of the same cases).

- mutations of every shipped config (a key dropped, a value of another type, 0, -1, 1e300, inf
  or nan for a number, a wrong string, two values swapped, an unknown key or section, the file
  cut at a random byte), each checked with ``--dry-run``;
- random configs drawn from the schema, each actually run with a tiny horizon into a run
  directory.

Every case must return (a per-case alarm), with an exit code in {0, 1, 2, 3}, no exception
escaping ``dadao.cli.main``, one line on stderr for exit 2 or 3 and nothing written, and a run
directory that reads back for exit 0 or 1. A failing case's id carries its seed and mutation;
its message says how to reproduce it alone.
"""

from __future__ import annotations

import pytest

from helpers import fuzzing

#: cases in the suite: seeds 0..N-1 of each kind
MUTATION_CASES = 220
RANDOM_CASES = 80
#: one random run in this many also draws its convergence figures (matplotlib takes nearly all
#: of a tiny run's time; the others skip only that step)
FIGURES_EVERY = 8

CASES = ([fuzzing.mutation_case(seed) for seed in range(MUTATION_CASES)]
         + [fuzzing.random_case(seed) for seed in range(RANDOM_CASES)])


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_fuzz_case(case, tmp_path):
    figures = case.kind == "mutation" or case.seed % FIGURES_EVERY == 0
    outcome = fuzzing.execute(case, tmp_path, figures=figures)
    assert not outcome.problems, fuzzing.report(case, outcome)


def test_the_generator_is_seeded_and_covers_every_mutation_and_config():
    again = fuzzing.mutation_case(7), fuzzing.random_case(7)
    assert (again[0].files, again[1].files) == (CASES[7].files, CASES[MUTATION_CASES + 7].files)
    mutations = {c.description.split(":")[1] for c in CASES[:MUTATION_CASES]}
    assert mutations == set(fuzzing.MUTATIONS)
    shipped = {c.description.split(":")[0] for c in CASES[:MUTATION_CASES]}
    assert len(shipped) == len(fuzzing.CONFIGS)
    families = {c.description.split(":")[1].split("(")[0] for c in CASES[MUTATION_CASES:]}
    assert families == set(fuzzing.SMALL_FAMILIES)
    methods = {c.description.split(":")[0] for c in CASES[MUTATION_CASES:]}
    assert methods == set(fuzzing.ASYNC + fuzzing.SYNC)
