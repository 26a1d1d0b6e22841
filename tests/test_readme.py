"""The README's test command is exactly what CI runs."""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci_lines = [line for line in (ROOT / ".ci" / "run").read_text().splitlines()
                if "pytest" in line]
    assert len(ci_lines) == 1
    assert ci_lines[0].strip() in readme


def test_readme_config_reference_is_the_schema():
    from dadao import config

    readme = (ROOT / "README.md").read_text()
    begin, end = "<!-- config reference: begin -->\n", "\n<!-- config reference: end -->"
    table = readme.split(begin, 1)[1].split(end, 1)[0]
    assert table == config.reference_markdown(), (
        "README's config reference is stale: replace it by the output of "
        "python -c 'from dadao import config; print(config.reference_markdown())'")


def test_readme_quick_start_figure_comes_from_the_quick_start_config():
    """docs/quickstart/ is the run directory of `dadao run configs/quickstart.toml`: its resolved
    config must be today's resolution of configs/quickstart.toml (else regenerate it)."""
    from dadao import config, experiment

    readme = (ROOT / "README.md").read_text()
    assert "dadao run configs/quickstart.toml" in readme
    assert "(docs/quickstart/convergence.png)" in readme
    shipped = config.load(str(ROOT / "docs" / "quickstart" / "config.toml"))
    today = experiment.from_config(config.load(str(ROOT / "configs" / "quickstart.toml"))).config
    assert shipped == today
    meta = json.loads((ROOT / "docs" / "quickstart" / "meta.json").read_text())
    assert meta["status"] == "completed"
    assert (ROOT / "docs" / "quickstart" / "convergence.png").stat().st_size > 10_000
