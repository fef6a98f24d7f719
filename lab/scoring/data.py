"""The labelled data the scorers are fitted and measured on (`datasets/`), and its fixed split.

The split is a function of the item id alone (a hash), so adding items never moves an old item
between train, dev and test, and nobody can tune a scorer by hand-picking its test items.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from lab.paths import project_root

SPLITS = ("train", "dev", "test")


def datasets_dir() -> Path:
    return project_root() / "datasets"


def split_of(item_id: str) -> str:
    """60 % train, 20 % dev, 20 % test, by the first byte of the id's SHA-256."""
    bucket = hashlib.sha256(item_id.encode()).digest()[0] % 10
    return "train" if bucket < 6 else "dev" if bucket < 8 else "test"


def _read(pattern: str) -> tuple[pd.DataFrame, list[Path]]:
    files = sorted(datasets_dir().glob(pattern))
    if not files:
        raise FileNotFoundError(f"no labelled data matching datasets/{pattern}")
    frame = pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False) for f in files], ignore_index=True)
    if frame["item_id"].duplicated().any():
        dupes = frame.loc[frame["item_id"].duplicated(), "item_id"].tolist()[:5]
        raise ValueError(f"duplicate item ids in datasets/{pattern}: {dupes}")
    frame["split"] = frame["item_id"].map(split_of)
    return frame, files


def detector_items() -> pd.DataFrame:
    """Columns: item_id, language, role, text, labels (list of ids), kind, split."""
    frame, _ = _read("asked_questions_*.csv")
    frame["labels"] = frame["labels"].map(lambda s: sorted(s.split()) if s.strip() else [])
    return frame


def capture_items() -> pd.DataFrame:
    """Columns: item_id, question_id, truth_language, truth, captured_language, captured, label (int),
    kind, split."""
    frame, _ = _read("capture_items_*.csv")
    frame["label"] = frame["label"].astype(int)
    return frame


def data_sha256() -> str:
    """One hash over every labelled file, name and bytes: what a calibration was fitted on."""
    digest = hashlib.sha256()
    for pattern in ("asked_questions_*.csv", "capture_items_*.csv"):
        for path in sorted(datasets_dir().glob(pattern)):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()
