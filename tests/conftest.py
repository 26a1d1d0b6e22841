"""Fixtures shared by every test module (module-specific helpers live in tests/helpers/)."""

from __future__ import annotations

import pytest

import helpers


@pytest.fixture(autouse=True, scope="session")
def private_cache_dir(tmp_path_factory):
    """No test reads or writes the user's ~/.cache: optimal rates go to a folder of the session
    (tests of the cache itself set their own)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("DADAO_CACHE_DIR", str(tmp_path_factory.mktemp("dadao-cache")))
    yield
    mp.undo()


@pytest.fixture
def small_config(tmp_path):
    """The path of a small, fast config (DADAO on an 8-cycle, least squares d = 3)."""
    path = tmp_path / "c.toml"
    path.write_text(helpers.SMALL_CONFIG)
    return str(path)


@pytest.fixture
def write_config(tmp_path):
    """write_config(text, name="c.toml") -> the path of a config file with this text."""
    def write(text, name="c.toml"):
        path = tmp_path / name
        path.write_text(text)
        return str(path)

    return write
