"""Laws of a duration X >= 0, in seconds (or of a unitless factor: the drawn speed factors).

    Constant(value)          X = value; mean value, variance 0 (value may be 0: no time)
    Exponential(mean)        X = mean E, E ~ Exp(1); variance mean^2
    ShiftedExponential(shift, mean_excess)
                             X = shift + mean_excess E; mean shift + mean_excess, variance
                             mean_excess^2
    LogNormal(median, sigma) X = median exp(sigma Z), Z ~ N(0, 1); mean median e^(sigma^2 / 2),
                             variance median^2 e^(sigma^2) (e^(sigma^2) - 1); sigma has no unit

A law draws its values in order from a stream (``draw(rng, size)``), so blocks of draws do not
change the values; ``Draws`` hands out the values of one law on one stream. ``law_from_dict``
builds a law from {"law": name, parameter: value, ...}, ``law_from_section`` from the flat keys
``{prefix}_law`` and ``{prefix}_{parameter}`` of a [timing] section, ``LAW_DEFAULTS`` supplying
a prefix's default law."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, fields as dataclass_fields
from typing import ClassVar

import numpy as np

from dadao.config import AUTO
from dadao.errors import ConfigError
from dadao.timing.hints import did_you_mean


class Law:
    """A law of a duration X >= 0, in seconds. Each law is a frozen dataclass of its parameters
    with ``mean`` and ``variance`` (seconds, seconds^2) and ``draw(rng, size)``: ``size`` i.i.d.
    values, float64, consuming the stream in order (so blocks of draws do not change values)."""

    name: ClassVar[str] = ""
    #: parameters that may be 0 (all others must be > 0)
    zero_allowed: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self):
        for f in dataclass_fields(self):
            object.__setattr__(self, f.name, self._checked(f.name, getattr(self, f.name)))

    def _checked(self, param: str, value) -> float:
        zero_ok = param in self.zero_allowed
        x = (float(value) if isinstance(value, numbers.Real) and not isinstance(value, bool)
             else math.nan)
        if not (math.isfinite(x) and (x >= 0 if zero_ok else x > 0)):
            raise ConfigError(f"{param} of the {self.name} law must be a finite number "
                              f"{'>=' if zero_ok else '>'} 0, got {value!r}")
        return x

    def to_dict(self) -> dict:
        """{"law": name, parameter: value, ...}: what ``law_from_dict`` reads back."""
        return {"law": self.name, **{f.name: getattr(self, f.name) for f in dataclass_fields(self)}}


@dataclass(frozen=True)
class Constant(Law):
    """X = value (seconds), always: mean value, variance 0. ``value`` may be 0 (takes no time:
    the idealised link); it consumes no random numbers."""

    value: float
    name: ClassVar[str] = "constant"
    zero_allowed: ClassVar[tuple[str, ...]] = ("value",)

    @property
    def mean(self) -> float:
        return self.value

    @property
    def variance(self) -> float:
        return 0.0

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return np.full(int(size), self.value)


@dataclass(frozen=True)
class Exponential(Law):
    """X = mean * E with E ~ Exp(1): density exp(-x / mean) / mean on x >= 0; mean ``mean``
    (seconds), variance mean^2. A node computing back to back with these times is a Poisson
    clock of rate 1 / mean."""

    mean: float
    name: ClassVar[str] = "exponential"

    @property
    def variance(self) -> float:
        return self.mean ** 2

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.standard_exponential(int(size)) * self.mean


@dataclass(frozen=True)
class ShiftedExponential(Law):
    """X = shift + mean_excess * E with E ~ Exp(1): never less than ``shift`` seconds, then an
    exponential excess; mean shift + mean_excess, variance mean_excess^2."""

    shift: float
    mean_excess: float
    name: ClassVar[str] = "shifted_exponential"

    @property
    def mean(self) -> float:
        return self.shift + self.mean_excess

    @property
    def variance(self) -> float:
        return self.mean_excess ** 2

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return self.shift + rng.standard_exponential(int(size)) * self.mean_excess


@dataclass(frozen=True)
class LogNormal(Law):
    """X = median * exp(sigma Z) with Z ~ N(0, 1): ln X ~ N(ln median, sigma^2); median
    ``median`` (seconds), mean median exp(sigma^2 / 2), variance median^2 e^(sigma^2)
    (e^(sigma^2) - 1). ``sigma`` has no unit."""

    median: float
    sigma: float
    name: ClassVar[str] = "lognormal"

    @property
    def mean(self) -> float:
        return self.median * math.exp(self.sigma ** 2 / 2)

    @property
    def variance(self) -> float:
        s2 = self.sigma ** 2
        return self.median ** 2 * math.exp(s2) * math.expm1(s2)

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return self.median * np.exp(self.sigma * rng.standard_normal(int(size)))


#: law name -> class
LAWS: dict[str, type] = {cls.name: cls for cls in (Constant, Exponential, ShiftedExponential,
                                                    LogNormal)}
#: every law parameter, in the order the config reference lists them
LAW_PARAMETERS: tuple[str, ...] = ("value", "mean", "shift", "mean_excess", "median", "sigma")


def law_parameters(name: str) -> tuple[str, ...]:
    """The parameters of the law called ``name``."""
    return tuple(f.name for f in dataclass_fields(LAWS[name]))


def law_from_dict(spec, field: str) -> Law:
    """The law of ``spec`` = {"law": name, parameter: value, ...}, e.g. {"law": "exponential",
    "mean": 0.01}. Every mistake (not a dict, no or an unknown law, a missing or an extra
    parameter, a value that is not a finite number > 0; constant's value may be 0) is a
    one-line ConfigError naming ``field`` (e.g. ``timing.compute``)."""
    if not isinstance(spec, dict):
        raise ConfigError(f"expected a table with a 'law' and its parameters, got {spec!r}",
                          field=field)
    if "law" not in spec:
        raise ConfigError(f"missing 'law' (laws: {', '.join(LAWS)})", field=field)
    name = spec["law"]
    if not isinstance(name, str) or name not in LAWS:
        raise ConfigError(f"unknown law {name!r}{did_you_mean(name, LAWS)} "
                          f"(laws: {', '.join(LAWS)})", field=field)
    expected = law_parameters(name)
    given = {k: v for k, v in spec.items() if k != "law"}
    missing = [p for p in expected if p not in given]
    extra = [p for p in given if p not in expected]
    if missing:
        raise ConfigError(f"the {name} law needs {', '.join(missing)} (parameters: "
                          f"{', '.join(expected)})", field=field)
    if extra:
        raise ConfigError(f"the {name} law takes no {extra[0]!r}"
                          f"{did_you_mean(extra[0], expected)} "
                          f"(parameters: {', '.join(expected)})", field=field)
    try:
        return LAWS[name](**given)
    except ConfigError as exc:
        raise exc.located(field=field) from None


#: the law a [timing] prefix means when its law is the default and no parameter is given
LAW_DEFAULTS: dict[str, dict] = {
    "compute": {"law": "exponential", "mean": 1.0},   # the idealised unit: rate-1 clocks
    "episode": {"law": "exponential", "mean": 1.0},
    "latency": {"law": "constant", "value": 0.0},     # the idealised link: no time
}


def law_from_section(section: dict, prefix: str, where: str = "timing") -> Law:
    """The law of the flat keys ``{prefix}_law`` and ``{prefix}_{parameter}`` of a section.

    A parameter whose value is "auto" (its declared default) is not given; when none is and the
    law is the prefix's default law, ``LAW_DEFAULTS[prefix]`` supplies them. Errors name
    ``{where}.{prefix}``.
    """
    name = section.get(f"{prefix}_law")
    given = {p: section[f"{prefix}_{p}"] for p in LAW_PARAMETERS
             if section.get(f"{prefix}_{p}", AUTO) != AUTO}
    default = LAW_DEFAULTS.get(prefix)
    if not given and default is not None and default["law"] == name:
        return law_from_dict(default, f"{where}.{prefix}")
    return law_from_dict({"law": name, **given}, f"{where}.{prefix}")


class Draws:
    """The values of one law on one stream, handed out in order by ``take(size)`` (buffered in
    blocks: the laws consume their stream value by value, so blocks do not change what each call
    returns). The compute times of a node and the latencies of a link are drawn through one."""

    BLOCK = 256

    def __init__(self, law: Law, rng: np.random.Generator):
        self.law = law
        self.rng = rng
        self.buffer = np.empty(0)

    def take(self, size: int) -> np.ndarray:
        if len(self.buffer) < size:
            more = self.law.draw(self.rng, max(self.BLOCK, size - len(self.buffer)))
            self.buffer = np.concatenate([self.buffer, more])
        out, self.buffer = self.buffer[:size], self.buffer[size:]
        return out
