"""The report as ONE self-contained HTML file: inline CSS, figures as base64 PNG data: URIs, no
script and no link to anything (no "http://" or "https://" anywhere: it opens offline, in a mail
attachment, in an archive years later)."""

from __future__ import annotations

import base64
import html
import io

CSS = """
body { font-family: sans-serif; max-width: 1100px; margin: 1.5em auto; color: #222;
       line-height: 1.4; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; border-bottom: 1px solid #ccc; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
figure { display: inline-block; width: 48%; margin: 0.6em 1% 0.6em 0; vertical-align: top; }
figcaption { font-size: 0.85em; color: #555; }
img { max-width: 100%; border: 1px solid #eee; }
.note { font-size: 0.85em; color: #555; }
"""


def png_data_uri(fig, dpi: int = 110) -> str:
    """A figure as a data: URI of a PNG (no Software text chunk: the bytes hold no URL)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _table(t) -> str:
    e = html.escape
    head = "".join(f"<th>{e(str(h))}</th>" for h in t.header)
    body = "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in row) + "</tr>"
                   for row in t.rows)
    note = f'<p class="note">{e(t.note)}</p>' if t.note else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"


def render(title: str, sections) -> str:
    """The HTML text of ``sections`` (``dadao.report.summary.Section``)."""
    e = html.escape
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>{e(title)}</title><style>{CSS}</style></head><body>", f"<h1>{e(title)}</h1>"]
    for s in sections:
        out.append(f"<h2>{e(s.title)}</h2>")
        for item in s.items:
            if item.kind == "text":
                out.append(f"<p>{e(item.text)}</p>")
            elif item.kind == "table":
                out.append(_table(item.table))
            else:
                out.append(f'<figure><img src="{png_data_uri(item.figure)}" '
                           f'alt="{e(item.text)}"><figcaption>{e(item.text)}</figcaption>'
                           f"</figure>")
    out.append("</body></html>\n")
    return without_urls("\n".join(out))


def without_urls(text: str) -> str:
    """``text`` with no "http://" nor "https://" (a URL quoted by a run's command or a package
    version would make the file look like it loads something): the colon is escaped, which a
    browser shows as the same text."""
    return text.replace("http://", "http&#58;//").replace("https://", "https&#58;//")
