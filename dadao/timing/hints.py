"""The "did you mean" hint of the timing model's error messages: the valid choice closest to a
misspelt word (``difflib``), or nothing when none is close."""

from __future__ import annotations

import difflib


def did_you_mean(word, choices) -> str:
    """"; did you mean 'x'?" with x the choice closest to ``word`` (compared as strings), or ""
    when no choice is close: the tail of a one-line "unknown ..." message."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1)
    return f"; did you mean {close[0]!r}?" if close else ""
