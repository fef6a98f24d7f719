"""The integrity block every report carries, and the hashes in it.

A reviewer who receives only a report must be able to ask "is this what the run produced?". Each
report therefore embeds a small JSON block: the SHA-256 of the report's data (the canonical JSON of
everything it shows), the SHA-256 of each run-folder file it was computed from, and of the snapshot
of its other inputs. The block travels inside the file (an HTML comment in Markdown, a JSON script
element in HTML, a metadata entry in PDF), so `exolab verify` needs nothing but the report and the
run folder.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

BLOCK_ID = "exolab-integrity"
BLOCK_SCHEMA = 1
PDF_KEY = "/ExoLabIntegrity"
SNAPSHOT_FILE = "report-inputs.json"
HASHES_FILE = "report-hashes.json"
# The run-folder files a report is computed from; scores, summary and usage are recomputed from them.
RUN_INPUTS = ("manifest.json", "inputs.json", "transcripts.jsonl", "judge.jsonl")

_MD_BLOCK = re.compile(r"<!-- " + BLOCK_ID + r" (\{.*?\}) -->")
_HTML_BLOCK = re.compile(r'<script type="application/json" id="' + BLOCK_ID + r'">(\{.*?\})</script>', re.S)


class NoIntegrityBlock(ValueError):
    pass


def canonical(data: Any) -> bytes:
    """One byte string per value: sorted keys, no whitespace, UTF-8."""
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_path(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def run_input_hashes(run_dir: Path) -> dict[str, str]:
    # sorted, as the block reads back from its JSON: a re-rendering must list them in the same order
    return {name: sha256_path(run_dir / name) for name in sorted(RUN_INPUTS) if (run_dir / name).is_file()}


def block_json(block: dict[str, Any]) -> str:
    # "</" would end the <script> element early in HTML; JSON allows the escaped slash.
    return json.dumps(block, sort_keys=True, ensure_ascii=True, separators=(",", ":")).replace("</", "<\\/")


def markdown_block(block: dict[str, Any]) -> str:
    return f"<!-- {BLOCK_ID} {block_json(block)} -->"


def html_block(block: dict[str, Any]) -> str:
    return f'<script type="application/json" id="{BLOCK_ID}">{block_json(block)}</script>'


def stamp_pdf(path: Path, block: dict[str, Any], title: str) -> None:
    """Put the block (and a title) into the PDF's document information."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(path))
    writer.add_metadata({"/Title": title, "/Producer": "ExoChat Lab (Chromium print)",
                         PDF_KEY: block_json(block)})
    tmp = path.with_suffix(".pdf.tmp")
    with tmp.open("wb") as handle:
        writer.write(handle)
    tmp.replace(path)


def pdf_page_count(path: Path) -> int:
    from pypdf import PdfReader

    return len(PdfReader(path).pages)


def read_block(path: Path) -> dict[str, Any]:
    """The integrity block of a report file (md, html or pdf)."""
    if path.suffix == ".pdf":
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError

        try:
            metadata = PdfReader(path).metadata
            raw = metadata.get(PDF_KEY) if metadata is not None else None
        except PdfReadError as exc:
            raise NoIntegrityBlock(f"{path}: not a readable PDF ({exc})") from exc
    else:
        text = path.read_text(encoding="utf-8", errors="replace")
        found = (_HTML_BLOCK if path.suffix in (".html", ".htm") else _MD_BLOCK).search(text)
        raw = found.group(1) if found else None
    if not raw:
        raise NoIntegrityBlock(f"{path}: no ExoChat Lab integrity block (not a report written by `exolab report`)")
    block = json.loads(str(raw))
    if block.get("schema") != BLOCK_SCHEMA:
        raise NoIntegrityBlock(f"{path}: integrity block schema {block.get('schema')!r}, expected {BLOCK_SCHEMA}")
    return dict(block)
