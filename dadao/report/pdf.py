"""The report as a PDF (matplotlib's PdfPages): the figures, then the tables drawn as text
figures. Fonts are embedded as TrueType (pdf.fonttype 42, set only inside an rc_context: no
global state), and the file carries no creation date and a fixed producer, so that the same
run directories give the same bytes."""

from __future__ import annotations

import io
import textwrap

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

METADATA = {"Creator": "dadao report", "Producer": "dadao report", "CreationDate": None}
#: characters of a table cell before it wraps, and lines on one page of text
CELL = 28
PAGE_LINES = 60


def _text_pages(title: str, lines: list[str]):
    """Figures (A4 portrait) of monospaced ``lines``, as many pages as they need."""
    for start in range(0, max(len(lines), 1), PAGE_LINES):
        fig = Figure(figsize=(8.27, 11.69))
        FigureCanvasAgg(fig)
        fig.text(0.05, 0.97, title, fontsize=11, weight="bold", va="top")
        fig.text(0.05, 0.94, "\n".join(lines[start:start + PAGE_LINES]), family="monospace",
                 fontsize=6.5, va="top")
        yield fig


def _table_lines(t) -> list[str]:
    """A table as text: every cell wrapped to CELL characters, columns padded."""
    rows = [t.header] + t.rows
    cells = [[textwrap.wrap(str(c), CELL) or [""] for c in row] for row in rows]
    widths = [max(len(line) for row in cells for line in row[k]) for k in range(len(t.header))]
    out = []
    for i, row in enumerate(cells):
        for j in range(max(len(c) for c in row)):
            out.append("  ".join((c[j] if j < len(c) else "").ljust(w)
                                 for c, w in zip(row, widths)).rstrip())
        if i == 0:
            out.append("-" * min(sum(widths) + 2 * len(widths), 140))
    if t.note:
        out += textwrap.wrap(t.note, 120)
    return out + [""]


def render(title: str, sections) -> bytes:
    """The PDF bytes of ``sections`` (``dadao.report.summary.Section``)."""
    buf = io.BytesIO()
    with matplotlib.rc_context({"pdf.fonttype": 42}):
        with PdfPages(buf, metadata=METADATA) as pdf:
            for s in sections:
                lines = []
                for item in s.items:
                    if item.kind == "figure":
                        item.figure.suptitle(textwrap.fill(item.text, 110), fontsize=7)
                        pdf.savefig(item.figure)
                    elif item.kind == "text":
                        lines += textwrap.wrap(item.text, 120) + [""]
                    else:
                        lines += _table_lines(item.table)
                if lines:
                    for fig in _text_pages(f"{title}: {s.title}", lines):
                        pdf.savefig(fig)
    return buf.getvalue()
