"""pytest plugin: a test that takes `exolab_case` runs once per conversation of a suite.

    pytestmark = pytest.mark.exolab_suite("scenarios/smoke.yaml", versions=["v1"])

    def test_discovery(exolab_case):
        assert_test(exolab_case, lab_metrics(accuracy=0.9))

The suite is run the way `exolab run` runs it (same run folder for the same inputs, so a second
session reuses the conversations); `--exolab-run RUN_FOLDER` scores a folder `exolab run` already
made instead, which is how CI keeps one run for the report and the assertions. Registered through
the `pytest11` entry point, so plain `pytest` and `deepeval test run` both find it.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

CASES = pytest.StashKey[dict[tuple[Any, ...], list[Any]]]()
SCRATCH = pytest.StashKey[Path]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("exolab", "ExoChat Lab conversations as test cases")
    group.addoption("--exolab-run", metavar="RUN_FOLDER", default=None,
                    help="Take the conversations of this `exolab run` folder instead of running the suite.")
    group.addoption("--exolab-prompt-version", metavar="VERSION", action="append", default=None,
                    help="Only these prompt versions (repeatable); overrides the marker's versions.")
    group.addoption("--exolab-runs-dir", metavar="DIR", default=None,
                    help="Where the suite's run folders are kept between sessions "
                         "(default: pytest's cache, or a temporary folder when the cache is off).")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "exolab_suite(path, versions=None, embedding_model=None): run this ExoChat Lab suite and "
                   "parametrise the test's `exolab_case` argument over its conversations.")
    config.stash[CASES] = {}


def pytest_unconfigure(config: pytest.Config) -> None:
    scratch = config.stash.get(SCRATCH, None)
    if scratch is not None:
        shutil.rmtree(scratch, ignore_errors=True)


def _runs_root(config: pytest.Config) -> Path:
    option = config.getoption("--exolab-runs-dir")
    if option:
        return Path(option)
    if getattr(config, "cache", None) is not None:
        return Path(config.cache.mkdir("exolab-runs"))  # type: ignore[union-attr]
    if SCRATCH not in config.stash:
        config.stash[SCRATCH] = Path(tempfile.mkdtemp(prefix="exolab-runs-"))
    return config.stash[SCRATCH]


def _cases(config: pytest.Config, source: tuple[Any, ...]) -> list[Any]:
    """Test cases for one (kind, path, versions, model) source, built once per session."""
    from lab.deepeval_metrics import run_folder_cases, suite_cases
    from lab.results import RunFolder
    from lab.yamlio import InputErrors

    store = config.stash[CASES]
    if source not in store:
        kind, path, versions, model = source
        problem = None
        try:
            if kind == "run":
                store[source] = run_folder_cases(RunFolder(path), list(versions) if versions else None)
            else:
                store[source] = suite_cases(path, list(versions) if versions else None, _runs_root(config), model)
        except (InputErrors, FileNotFoundError) as exc:
            problem = str(exc)
        if problem is not None:
            pytest.fail(f"exolab: {problem}", pytrace=False)
    return store[source]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "exolab_case" not in metafunc.fixturenames:
        return
    config = metafunc.config
    versions = config.getoption("--exolab-prompt-version")
    run_folder = config.getoption("--exolab-run")
    marker = metafunc.definition.get_closest_marker("exolab_suite")
    if run_folder:
        source: tuple[Any, ...] = ("run", Path(run_folder), tuple(versions or ()), None)
    elif marker is not None:
        if not marker.args:
            pytest.fail(f"{metafunc.definition.nodeid}: exolab_suite needs the suite file, "
                        "e.g. @pytest.mark.exolab_suite('scenarios/smoke.yaml')", pytrace=False)
        path = Path(marker.args[0])
        path = path if path.is_absolute() else config.rootpath / path
        chosen = versions or marker.kwargs.get("versions")
        source = ("suite", path, tuple(chosen or ()), marker.kwargs.get("embedding_model"))
    else:
        pytest.fail(f"{metafunc.definition.nodeid} takes exolab_case but names no suite: mark it with "
                    "@pytest.mark.exolab_suite('scenarios/smoke.yaml') or pass --exolab-run", pytrace=False)
    cases = _cases(config, source)
    metafunc.parametrize("exolab_case", cases, ids=[case.name for case in cases])
