"""`exolab compare` through the real CLI, on A/B runs whose true difference is known."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import add_flow_version, copy_project, exolab, replace_in

SKIPPED = ["tried_before", "ideal_process"]


@pytest.fixture(scope="module")
def ab_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """v1 against v4 (v1 minus two questions), on the smoke suite with two different seeds."""
    work = tmp_path_factory.mktemp("ab")
    home = copy_project(work)
    add_flow_version(home, "v4", SKIPPED, "v1 without tried_before and ideal_process")
    folders = []
    for seed in ("20261122", "7"):
        replace_in(home / "scenarios" / "smoke.yaml", "seed: ", f"seed: {seed} #")
        result = exolab("run", "--suite", str(home / "scenarios" / "smoke.yaml"), "--prompt-version", "v1",
                        "--prompt-version", "v4", "--prompt-version", "v2", "--no-mlflow", "--quiet",
                        "--runs-dir", str(work / "runs"), cwd=work, env={"EXOLAB_HOME": str(home)})
        assert result.returncode == 0, result.stderr
        folders.append(Path(result.stdout.split("run folder: ")[1].split()[0]))
    return work, [f if f.is_absolute() else work / f for f in folders]


def _compare(work: Path, *args: str) -> dict:
    out = work / "cmp"
    result = exolab("compare", *args, "--out", str(out), cwd=work)
    assert result.returncode == 0, result.stderr
    return json.loads((out / "compare.json").read_text())


def test_the_two_changed_questions_and_no_others_are_flagged_across_seeds(ab_runs: tuple[Path, list[Path]]) -> None:
    work, folders = ab_runs
    for folder in folders:
        result = _compare(work, f"{folder}@v1", f"{folder}@v4")
        pair = result["pairwise"][0]
        flagged = {(r["kpi"], r["question_id"]) for r in pair["questions"] if r["verdict"] in ("better", "worse")}
        assert flagged == {("completeness", q) for q in SKIPPED}, flagged
        assert all(r["verdict"] == "worse" for r in pair["questions"] if r["question_id"] in SKIPPED
                   and r["kpi"] == "completeness")
        # never elicited in v4: its accuracy cannot be compared, and says so
        assert {r["verdict"] for r in pair["questions"] if r["question_id"] in SKIPPED
                and r["kpi"] == "accuracy"} == {"no paired data"}


def test_the_same_version_in_two_runs_shows_no_difference(ab_runs: tuple[Path, list[Path]]) -> None:
    work, folders = ab_runs
    result = _compare(work, f"{folders[0]}@v1", f"{folders[1]}@v1")
    assert [r for r in result["pairwise"][0]["questions"] if r["verdict"] in ("better", "worse")] == []


def test_a_version_is_not_compared_with_itself(ab_runs: tuple[Path, list[Path]]) -> None:
    work, folders = ab_runs
    refused = exolab("compare", f"{folders[0]}@v1", f"{folders[0]}@v1", cwd=work)
    assert refused.returncode == 2 and "appears twice" in refused.stderr


def test_three_versions_make_a_matrix_best_first(ab_runs: tuple[Path, list[Path]]) -> None:
    work, folders = ab_runs
    result = _compare(work, str(folders[0]))
    assert [s["label"] for s in result["sides"]] == ["v1", "v4", "v2"]
    assert len(result["pairwise"]) == 3
    v1 = result["sides"][0]
    assert v1["repetitions"] == 2 and v1["pass_hat_k"] is not None
    assert set(v1["noise_floor"]) == {"completeness", "accuracy"}
    assert result["matrix"]["completeness"]["v4"]["tried_before"] == 0.0
    text = (work / "cmp" / "compare.md").read_text()
    assert "## Matrix: completeness per question (best version first)" in text
    assert "Per persona:" in text and "Per language:" in text


def test_pass_hat_k_never_exceeds_pass_at_1(ab_runs: tuple[Path, list[Path]]) -> None:
    work, folders = ab_runs
    for side in _compare(work, str(folders[1]))["sides"]:
        assert side["pass_hat_k"] <= side["pass_at_1"] + 1e-9


@pytest.mark.parametrize("spec", ["no/such/folder@v1", "0123456789abcdef0123456789abcdef", "nonsense"])
def test_unknown_sources_are_refused_with_a_clear_message(ab_runs: tuple[Path, list[Path]], spec: str) -> None:
    work, folders = ab_runs
    result = exolab("compare", f"{folders[0]}@v1", spec, "--tracking-uri", f"sqlite:///{work / 'empty.db'}",
                    cwd=work)
    assert result.returncode == 2
    assert spec in result.stderr and "Traceback" not in result.stderr


def test_an_unknown_version_names_the_ones_there(ab_runs: tuple[Path, list[Path]]) -> None:
    work, folders = ab_runs
    result = exolab("compare", f"{folders[0]}@v1", f"{folders[0]}@v9", cwd=work)
    assert result.returncode == 2 and "v9" in result.stderr and "v4" in result.stderr
