"""Splitting utterances into the clauses the scorers judge, for Russian, English and Chinese."""

from __future__ import annotations

import re

# Chinese question words; "急不急", "重不重要": the A-not-A form asks as much as 吗 does
_ZH_ASKS = (r"(?:哪|什么|怎么|怎样|多少|是否|有没有|谁|为什么|吗|如何|几|多大|多重要|多紧迫|是不是"
            r"|([\u4e00-\u9fff])[不没]\1)")
_ZH_INTERROGATIVE = re.compile(_ZH_ASKS)
_SENTENCE = re.compile(r"[^.!?。！？\n]+[.!?。！？]*")
_CONJUNCTION = re.compile(
    r"\s+(?:и|а также|а ещё|а еще|and also|and|as well as|or)\s+|[;；]\s*|[，,]?\s*(?:还有|以及|另外|并且)"
    # a comma that opens a second question: ", кто …", ", and who …", "，哪里 …"
    r"|,\s*(?=(?:а |и )?(?:кто|что|как|где|сколько|какие|какой|какая|насколько|были ли|есть ли|почему|зачем)\b)"
    r"|,\s*(?=(?:and |or )?(?:who|what|how|where|which|why|when|is|are|do|does|did|have|has)\b)"
    r"|，(?=[^，]*" + _ZH_ASKS + ")"
    r"|、(?=[^、，]{4,})"  # an enumeration of questions: "公司多少人、哪几个团队最吃紧、AI谁在推"
)
_LEADING_CONJUNCTION = re.compile(r"^(?:and|or|but|а|и|но)\s+", re.IGNORECASE)
QUESTION_MARKS = ("?", "？")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_CYRILLIC = re.compile(r"[А-Яа-яЁё]")


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip()]


def _split_conjuncts(text: str) -> list[str]:
    """re.split would return the A-not-A back-reference group among the parts: cut by match spans."""
    parts, start = [], 0
    for match in _CONJUNCTION.finditer(text):
        parts.append(text[start:match.start()])
        start = match.end()
    return [*parts, text[start:]]


def clause_candidates(question: str) -> list[str]:
    """The whole question plus its conjunct parts, so "how many people and who drives AI?" is
    judged both as a whole and as two questions."""
    parts = [_LEADING_CONJUNCTION.sub("", p.strip(" ?？.。!！—-–"))
             for p in _split_conjuncts(question.rstrip("?？.。!！"))]
    parts = [p for p in parts if len(p.split()) >= 2 or len(_CJK.findall(p)) >= 4]
    # a Chinese clause before a comma is often a preamble or a condition (大概来说，如果…，): only
    # clauses that ask something themselves are judged on their own
    parts = [p for p in parts if not _CJK.search(p) or _ZH_INTERROGATIVE.search(p) or "、" in question]
    out = [question]
    if len(parts) > 1:
        out.extend(parts)
    return out


def detect_language(text: str) -> str:
    """The dominant script of a text: zh for CJK, ru for Cyrillic, en otherwise."""
    cjk, cyr = len(_CJK.findall(text)), len(_CYRILLIC.findall(text))
    latin = len(re.findall(r"[A-Za-z]", text))
    if cjk and cjk * 2 >= max(cyr, latin) / 2:
        return "zh"
    if cyr > latin:
        return "ru"
    return "en"


def find_marker(text: str, markers: list[str]) -> tuple[int, str] | None:
    """The first marker found in `text` (case-insensitive) and where, or None. A marker counts only
    at the start of a Latin or Cyrillic word ("rag" is not in "average"); CJK has no word
    boundaries, so there any occurrence counts."""
    low = text.lower()
    best: tuple[int, str] | None = None
    for marker in markers:
        boundary = r"(?<![a-zа-яё0-9])" if re.match(r"[a-zа-яё0-9]", marker.lower()) else ""
        match = re.search(boundary + re.escape(marker.lower()), low)
        if match and (best is None or match.start() < best[0]):
            best = (match.start(), marker)
    return best
