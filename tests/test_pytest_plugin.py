"""The pytest plugin as a user meets it: a test file in their own project, run by plain pytest and by
`deepeval test run`, failing where the assistant breaks the playbook and reusing earlier runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT

pytest_plugins = ["pytester"]

SMOKE = (ROOT / "scenarios" / "smoke.yaml").as_posix()
TEST_FILE = f'''
import pytest
from deepeval import assert_test
from lab.deepeval_metrics import lab_metrics

pytestmark = pytest.mark.exolab_suite({SMOKE!r}, versions=["VERSION"])

def test_discovery(exolab_case):
    assert_test(exolab_case, lab_metrics(completeness=1.0, accuracy=0.9))
'''


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    runs = pytester.path / "exolab-runs"
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "--exolab-runs-dir", str(runs), *args,
                                         timeout=600)


def test_a_version_that_skips_questions_fails_every_conversation(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_gate=TEST_FILE.replace("VERSION", "v2"))
    result = _run(pytester)
    result.assert_outcomes(failed=12)
    result.stdout.fnmatch_lines(["*test_discovery?v2/ru_fintech_upper_mid/r0?*",
                                 "*Completeness (score: 0.5*never asked*"])


def test_the_suite_runs_once_and_a_second_session_reuses_its_conversations(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_gate=TEST_FILE.replace("VERSION", "v1"))
    _run(pytester).assert_outcomes(passed=12)
    folders = list((pytester.path / "exolab-runs").iterdir())
    assert len(folders) == 1 and (folders[0] / "transcripts.jsonl").is_file()
    stamp = (folders[0] / "transcripts.jsonl").stat().st_mtime_ns
    _run(pytester).assert_outcomes(passed=12)
    assert (folders[0] / "transcripts.jsonl").stat().st_mtime_ns == stamp


def test_an_existing_run_folder_and_a_version_filter_replace_the_marker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_gate=TEST_FILE.replace("VERSION", "v2"))
    _run(pytester, "--exolab-prompt-version", "v1").assert_outcomes(passed=12)
    folder = next((pytester.path / "exolab-runs").iterdir())
    result = _run(pytester, "--exolab-run", str(folder), "--exolab-prompt-version", "v1", "-k", "en_saas")
    result.assert_outcomes(passed=2)


def test_a_test_without_a_suite_or_with_a_broken_one_is_a_collection_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_nosuite="def test_x(exolab_case):\n    pass\n")
    result = _run(pytester)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*test_x takes exolab_case but names no suite*"])
    pytester.makepyfile(test_nosuite="import pytest\n@pytest.mark.exolab_suite('nowhere/suite.yaml')\n"
                                     "def test_x(exolab_case):\n    pass\n")
    result = _run(pytester)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*exolab: *nowhere/suite.yaml*"])


@pytest.mark.slow
def test_deepeval_test_run_runs_the_shipped_example(tmp_path: Path) -> None:
    deepeval = Path(sys.executable).with_name("deepeval")
    env = {**os.environ, "DEEPEVAL_TELEMETRY_OPT_OUT": "YES", "COLUMNS": "200"}
    done = subprocess.run([str(deepeval), "test", "run", "tests/test_discovery.py", "-p", "no:cacheprovider",
                           "--exolab-runs-dir", str(tmp_path)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "12 passed" in done.stdout and "Pass Rate: 100.0%" in done.stdout
