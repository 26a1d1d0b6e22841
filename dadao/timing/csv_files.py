"""The CSV files of the timing model (speed factors, link overrides): the rows after a fixed
header, and their cells read as node ids and as numbers (seconds, bytes per second, factors).
Every mistake is a one-line ConfigError naming the field, the file and the line."""

from __future__ import annotations

import csv
import io
import math

from dadao.errors import ConfigError
from dadao.input_files import read_text


def csv_rows(path, header: tuple[str, ...], what: str, field: str) -> list[tuple[int, list]]:
    """(line number, stripped cells) of each non-blank row after the header of a CSV file."""
    path = str(path)
    text = read_text(path, what, ConfigError, field=field, file=path)
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise ConfigError(f"not a CSV file: {exc}", field=field, file=path) from None
    if not rows or [c.strip().lower() for c in rows[0]] != list(header):
        got = ",".join(rows[0]) if rows else "an empty file"
        raise ConfigError(f"line 1: expected the header {','.join(header)!r}; got {got!r}",
                          field=field, file=path)
    out = []
    for lineno, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise ConfigError(f"line {lineno}: expected {len(header)} fields "
                              f"{','.join(header)}; got {','.join(row)!r}", field=field,
                              file=path)
        out.append((lineno, [c.strip() for c in row]))
    return out


def csv_int(text: str, name: str, lineno: int, path, field: str) -> int:
    """The cell ``text`` of column ``name`` on line ``lineno`` read as an integer node id; else a
    ConfigError naming the line, ``field`` and the file ``path``."""
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"line {lineno}: {name} must be an integer node id; got {text!r}",
                          field=field, file=str(path)) from None


def csv_number(text: str, name: str, lineno: int, path, field: str, *, zero_ok: bool,
               inf_ok: bool = False) -> float:
    """The cell ``text`` of column ``name`` on line ``lineno`` read as a number > 0 (>= 0 with
    ``zero_ok``), finite unless ``inf_ok`` allows math.inf; else a ConfigError naming the line,
    ``field`` and the file ``path``."""
    try:
        x = float(text)
    except ValueError:
        x = math.nan
    if not ((math.isfinite(x) or (inf_ok and x == math.inf)) and (x >= 0 if zero_ok else x > 0)):
        bound = ">= 0" if zero_ok else "> 0"
        raise ConfigError(f"line {lineno}: {name} must be a {'' if inf_ok else 'finite '}"
                          f"number {bound}; got {text!r}", field=field, file=str(path))
    return x
