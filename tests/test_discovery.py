"""The release gate a team writes with deepeval: every smoke-suite conversation of prompt version
v1 asks and hears every required discovery question, writes down what the customer said (at least
90 % of it faithfully: the capture judge is measured, not perfect) and keeps to the playbook.

Runs with plain `pytest tests/test_discovery.py` or `deepeval test run tests/test_discovery.py`;
add `--exolab-run runs/smoke-<hash>` to assert on a run `exolab run` already made.
"""

import pytest
from deepeval import assert_test

from lab.deepeval_metrics import lab_metrics

pytestmark = pytest.mark.exolab_suite("scenarios/smoke.yaml", versions=["v1"])


def test_discovery(exolab_case):
    assert_test(exolab_case, lab_metrics(completeness=1.0, accuracy=0.9))
