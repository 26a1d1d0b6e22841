"""The declared [timing] fields (dadao.timing.fields) and the laws they describe
(law_from_section)."""

from __future__ import annotations

import pytest

from dadao.config import AUTO, Field
from dadao.errors import ConfigError
from dadao.timing.fields import TIMING_FIELDS
from dadao.timing.laws import (
    LAW_PARAMETERS, LAWS, Constant, Exponential, LogNormal, law_from_section,
)

from .common import assert_one_line


def defaults() -> dict:
    return {key: spec.default for key, spec in TIMING_FIELDS.items()}


def test_timing_fields_are_documented_fields_with_valid_defaults():
    for key, spec in TIMING_FIELDS.items():
        assert isinstance(spec, Field) and spec.doc, key
        spec.describe_type()
        if spec.choices:
            assert spec.default in spec.choices, key
    fields = TIMING_FIELDS
    assert fields["busy_link"].choices == ("queue", "skip")
    assert fields["gradient"].choices == ("idealised", "stale")
    assert fields["barrier"].choices == ("global", "neighbourhood")
    assert fields["parallel"].type == "bool" and fields["parallel"].default is True
    for prefix in ("compute", "speed", "episode", "latency"):
        assert set(fields[f"{prefix}_law"].choices) == set(LAWS)
        for p in LAW_PARAMETERS:
            assert fields[f"{prefix}_{p}"].default == AUTO


def test_law_from_section_defaults_and_overrides():
    section = defaults()
    assert law_from_section(section, "compute") == Exponential(1.0)
    assert law_from_section(section, "latency") == Constant(0.0)
    assert law_from_section(section, "episode") == Exponential(1.0)
    with pytest.raises(ConfigError) as info:  # no default for the drawn speed factors
        law_from_section(section, "speed")
    assert_one_line(info.value, "timing.speed")
    section.update(compute_law="lognormal", compute_median=0.01, compute_sigma=0.5)
    assert law_from_section(section, "compute") == LogNormal(0.01, 0.5)
    section.update(compute_law="exponential", compute_mean=0.02)
    with pytest.raises(ConfigError, match="takes no 'median'"):
        law_from_section(section, "compute")
