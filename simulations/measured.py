"""The README's Measured table, row by row, as the scripts that measure write it.

A benchmark ends with

    from measured import write_rows
    write_rows("bench_authors", "python simulations/bench_authors.py ...", [
        {"what": "...", "figure": "..."}, ...])

which replaces ``docs/measured/bench_authors.json``. ``simulations/readme_outputs.py`` renders
the README's table from every file there (in the order of ``ORDER``, then by name), so a figure
in the table is always one that a script printed, with the command that printed it, and
``tests/test_readme.py`` checks the table against the files.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "docs" / "measured"

#: the table's order: the event loop first, then scale, rates, engines, experiments
ORDER = ("bench_events", "bench_authors", "bench_startup", "bench_scale", "bench_schedule",
         "bench_graph_constants", "bench_first_order", "dadao_convergence_table",
         "paper_comparison", "bench_mpi", "bench_optimal_rates", "bench_timing", "wall_clock",
         "cost_rates")


def write_rows(script: str, command: str, rows: list[dict]) -> Path:
    """Replace the rows of ``script``: each {"what": ..., "figure": ...} (plain Markdown)."""
    for row in rows:
        if set(row) != {"what", "figure"}:
            raise ValueError(f"a row has the keys {sorted(row)}, expected what and figure")
    FOLDER.mkdir(parents=True, exist_ok=True)
    path = FOLDER / f"{script}.json"
    record = {"script": script, "command": command, "date": time.strftime("%Y-%m-%d"),
              "rows": rows}
    path.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    return path


def records(folder: Path = FOLDER) -> list[dict]:
    """Every script's record, in the table's order."""
    found = {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}
    rank = {name: k for k, name in enumerate(ORDER)}
    return [found[name] for name in sorted(found, key=lambda s: (rank.get(s, len(ORDER)), s))]


def table(folder: Path = FOLDER) -> str:
    """The Markdown table: what, figure, command (the first row of a script names it)."""
    lines = ["| what | figure | command |", "|---|---|---|"]
    for record in records(folder):
        for k, row in enumerate(record["rows"]):
            command = f"`{record['command']}` ({record['date']})" if k == 0 else "same"
            lines.append(f"| {row['what']} | {row['figure']} | {command} |")
    return "\n".join(lines)
