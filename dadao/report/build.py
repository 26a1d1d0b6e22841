"""`dadao report DIR... -o report.html [--pdf report.pdf]`: check the outputs, find and read the
run directories (as `dadao collect` does), group them, write the HTML and the PDF."""

from __future__ import annotations

import os
import warnings

from dadao.errors import ConfigError, DadaoWarning, RunDirError, UsageError

TITLE = "dadao report"


def check_outputs(html_path: str, pdf_path: str | None) -> None:
    """UsageError naming the flag unless both outputs can be written with their extension."""
    from dadao.report.output import check_output_file

    check_output_file(html_path, "-o", "report.html")
    if os.path.splitext(html_path)[1].lower() not in (".html", ".htm"):
        raise UsageError("the extension must be .html", field=f"-o {html_path}")
    if pdf_path is not None:
        check_output_file(pdf_path, "--pdf", "report.pdf")
        if os.path.splitext(pdf_path)[1].lower() != ".pdf":
            raise UsageError("the extension must be .pdf", field=f"--pdf {pdf_path}")


def read_groups(dirs):
    """(groups, naming keys, seed keys) of the run directories under ``dirs``; one warning per
    folder that cannot be read; RunDirError when none can."""
    from dadao.collect import find_runs
    from dadao.report import grouping

    runs = []
    for path in find_runs(dirs):
        try:
            runs.append(grouping.read_run(path))
        except (RunDirError, ConfigError) as exc:
            warnings.warn(f"{exc}; skipped", DadaoWarning, stacklevel=2)
    if not runs:
        raise RunDirError("no run directory (a folder with meta.json, config.toml and "
                          "trace.csv) found", file=", ".join(dirs))
    return grouping.group_runs(runs)


def build(dirs) -> tuple[list, int]:
    """(the report's sections, the number of runs)."""
    from dadao.report.summary import report_sections

    groups, naming, seeds = read_groups(dirs)
    return report_sections(groups, naming, seeds), sum(len(g.runs) for g in groups)


def main(args) -> int:
    from dadao.atomic import write_atomic
    from dadao.report import html, pdf
    from dadao.report.output import write_failed

    check_outputs(args.output, args.pdf)
    warnings.simplefilter("always", DadaoWarning)
    sections, count = build(args.dirs)
    text = html.render(TITLE, sections)
    data = pdf.render(TITLE, sections) if args.pdf else None
    for path, flag, body in ((args.output, "-o", text), (args.pdf, "--pdf", data)):
        if path is None:
            continue
        try:
            write_atomic(path, body)
        except OSError as exc:
            raise write_failed(path, flag, exc) from None
    print(f"{args.output}: {count} run(s), {len(sections)} sections"
          + (f"; {args.pdf}" if args.pdf else ""))
    return 0
