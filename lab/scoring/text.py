"""Splitting utterances into the clauses the scorers judge, for Russian, English and Chinese."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

# Chinese question words, with the spoken 啥 (什么; not 啥的, "and so on": 「机器人啥的」) and 咋 (怎么);
# "急不急", "重不重要": the A-not-A form asks as much as 吗 does
_ZH_ASKS = (r"(?:哪|什么|怎么|怎样|多少|是否|有没有|谁|为什么|吗|如何|几|多大|多重要|多紧迫|是不是|啥(?!的)|咋"
            r"|([\u4e00-\u9fff])[不没]\1)")
_ZH_INTERROGATIVE = re.compile(_ZH_ASKS)
# the mark of a numbered item: "1)", "2.", "3）" (not "1.5" or "v2)")
_NUMBER_MARK = r"(?<![\w.])\d{1,2}[).）]"
_SENTENCE = re.compile(r"[^.!?。！？\n]+[.!?。！？]*")
# 还有 / 以及 join a phrase to what went before; 另外 / 并且 also open a sentence or a condition of
# their own (「另外，如果设想一个理想的流程，它会是什么样子？」)
_ZH_JOINING = r"还有|以及"
_CONJUNCTIONS = (
    r"\s+(?:и|а также|а ещё|а еще|and also|and|as well as|or)\s+|[;；]\s*|[，,]?\s*(?:" + _ZH_JOINING + r"|另外|并且)"
    # a comma that opens a second question: ", кто …", ", and who …", "，哪里 …"
    r"|,\s*(?=(?:а |и )?(?:кто|что|во что|как|где|сколько|какие|какой|какая|насколько|почему|зачем)\b)"
    # «…, пробовали ли вы …», «…, есть ли …»: a verb with the particle ли asks a yes-no question
    r"|,\s*(?=(?:а |и )?[а-яё]+ ли(?![а-яё]))"
    r"|,\s*(?=(?:and |or )?(?:who|what|how|where|which|why|when|is|are|do|does|did|have|has)\b)"
    r"|，(?=[^，]*" + _ZH_ASKS + ")"
    # a numbered list inside one sentence: "1) headcount, 2) …", "一、… 二、…", «во-первых, …»
    r"|[,;:，：]?\s*" + _NUMBER_MARK + r"\s*"
    # a list set out with dashes after a colon: «Пара вопросов: — какую роль …; — кто …»
    r"|[:：]\s*[—–]\s+"
    r"|[,;，]?\s*(?:во-вторых|в-третьих)\s*,?\s*|(?:^|(?<=[。；;，,\s]))[二三四五][、是]"
)
# an enumeration of questions: "公司多少人、哪几个团队最吃紧、AI谁在推"; in a sentence that neither
# asks with a question mark nor requests, the same enumeration lists topics (an agenda:
# 「我想先了解…—— 哪里出错、哪里延误、哪些团队负担过重。」), and it stays whole
_ENUMERATION = r"|、(?=[^、，]{4,})"
_CONJUNCTION = re.compile(_CONJUNCTIONS + _ENUMERATION)
_ZH_CONJUNCTION = re.compile(_ZH_JOINING)
_CONJUNCTION_NOT_ENUMERATION = re.compile(_CONJUNCTIONS)
# "1) …", "2. …", and the spoken Chinese ordinals 「一是…，二是…」 after a stop, a comma or a colon
_NUMBERED = re.compile(_NUMBER_MARK + r"|(?:^|(?<=[。；;，,\s：:]))[一二三四五]是")
# a sentence worded as a question though it lacks a question mark: "Who owns AI, and is there a
# hard deadline driving it", «Ну и заодно — насколько вам важно…», 「谁在负责你们的AI，目前AI都用在哪些地方」.
# The question words must open it (in its first clause, or right after a short lead-in such as
# «Скажите,»): in an agenda the same words come late, inside what the speaker plans to ask
# («Предлагаю…: сначала хочу разобраться, как у вас… — где возникают ошибки»).
_QUESTION_WORDS = re.compile(
    r"(?<![А-Яа-яЁё])(?:насколько|сколько|кто|где|какой|какая|какое|какие|каким|какую|каков\w*|почему|зачем"
    r"|во что|ли)(?![А-Яа-яЁё])"
    r"|^(?:and |or |also |so |but )?(?:how|what|who|where|which|why|is|are|was|were|do|does|did|have|has"
    r"|would|could|can)\b"
    r"|" + _ZH_ASKS,
    re.IGNORECASE,
)
# a Chinese sentence that ends on 吗 or 呢 asks, wherever its question words are
# (「它乱报利率那回，还有别的类似情况吗」)
_ZH_QUESTION_PARTICLE_AT_END = re.compile(r"[吗呢][\s。.!！…~～]*$")
_CLAUSE_BREAK = re.compile(r"\s*[,，:：;；—–]+\s*")
_LEAD_IN_WORDS, _LEAD_IN_CJK = 3, 6
_LEADING_CONJUNCTION = re.compile(r"^(?:and|or|but|а|и|но)\s+", re.IGNORECASE)
QUESTION_MARKS = ("?", "？")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_CYRILLIC = re.compile(r"[А-Яа-яЁё]")


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip()]


def _split_conjuncts(text: str, enumerations: bool) -> list[tuple[str, str]]:
    """Each part with the separator before it ("" for the first). re.split would return the
    A-not-A back-reference group among the parts: cut by match spans."""
    parts, start, separator = [], 0, ""
    for match in (_CONJUNCTION if enumerations else _CONJUNCTION_NOT_ENUMERATION).finditer(text):
        parts.append((separator, text[start:match.start()]))
        start, separator = match.end(), match.group()
    return [*parts, (separator, text[start:])]


def worded_as_question(text: str) -> bool:
    if _ZH_QUESTION_PARTICLE_AT_END.search(text):
        return True
    clauses = [c for c in _CLAUSE_BREAK.split(text.strip()) if c]
    if not clauses:
        return False
    if _QUESTION_WORDS.search(clauses[0]):
        return True
    short_lead_in = len(clauses[0].split()) <= _LEAD_IN_WORDS and len(_CJK.findall(clauses[0])) <= _LEAD_IN_CJK
    return short_lead_in and len(clauses) > 1 and bool(_QUESTION_WORDS.search(clauses[1]))


# an item of a list may open with a hedge before its question word: "1) roughly how many staff"
_ITEM_ASKS = re.compile(r"^(?:[\w'’-]+\s+){0,2}(?:how|what|who|where|which|why|when|whether)\b", re.IGNORECASE)


# A request whose verb opens the sentence asks as a question does: a Russian polite imperative
# (-те, -тесь: «Обозначьте…», «Пройдитесь…», «Будьте откровенны…»), whatever the verb, or an
# English verb of asking ("Point me to…", "Rank your departments…"). Second-person present forms
# and apologies that open a remark («Знаете, …», «Хотите, покажу», «Простите, …») are not requests.
_RU_IMPERATIVE = re.compile(r"^(?:(?:ну|а|и|так|пожалуйста|теперь|тогда),?\s+)?([а-яё]+(?:те|тесь))(?![а-яё])",
                            re.IGNORECASE)
_RU_NOT_IMPERATIVE = frozenset(
    ["знаете", "понимаете", "видите", "хотите", "слышите", "представляете", "помните", "думаете", "считаете",
     "можете", "сможете", "будете", "скажете", "хотели", "вместе", "месте", "дате", "давайте", "извините",
     "простите", "смотрите", "послушайте"])
_EN_REQUEST_VERBS = frozenset(
    ["answer", "assess", "be", "break", "bring", "clarify", "compare", "consider", "count", "cover", "describe",
     "detail", "elaborate", "estimate", "evaluate", "explain", "fill", "flag", "gauge", "give", "go", "guess",
     "help", "identify", "imagine", "lay", "level", "list", "map", "name", "outline", "paint", "picture",
     "pinpoint", "place", "point", "prioritise", "prioritize", "quantify", "rank", "rate", "recall", "recap",
     "remind", "run", "say", "score", "share", "single", "sketch", "spell", "suppose", "summarise", "summarize",
     "take", "talk", "tell", "think", "walk"])
_EN_OPENER = re.compile(r"^(?:(?:please|just|now|so|okay|ok|and|then)[,]?\s+)*([a-z]+)\b", re.IGNORECASE)


# a Chinese polite request: 请 / 烦请 / 麻烦 opening the sentence or a clause of it
# (「请把当时的经历讲细一点」, 「倘若这事拖到明年，请您推演一下…」); 请问 is among the cues
_ZH_REQUEST = re.compile(r"(?:^|[，,：:；;])\s*(?:请|烦请|麻烦)(?!问)")


def opens_with_request(sentence: str) -> bool:
    """Whether a sentence opens on an imperative verb (Russian and English), or a Chinese clause on
    a word of polite request (other Chinese requests are told by their verbs among the cues)."""
    text = sentence.strip().lstrip("«\"'“—-– ")
    if _ZH_REQUEST.search(text):
        return True
    if match := _RU_IMPERATIVE.match(text):
        return match.group(1).lower() not in _RU_NOT_IMPERATIVE
    opener = _EN_OPENER.match(text)
    return opener is not None and opener.group(1).lower() in _EN_REQUEST_VERBS and len(text.split()) >= 3


def asks_as_list(text: str) -> bool:
    """A list of two or more items, numbered or after a colon and separated by semicolons, of which
    one is worded as a question ("Quick ones: 1) roughly how many staff are you, 2) …", «Пара
    вопросов: — какую роль ИИ играет …; — кто за это отвечает»), or after a colon and separated by
    commas, of which two are: the items ask, whatever the lead-in says and though the sentence
    ends on a full stop."""
    items = _NUMBERED.split(text)[1:]
    colon = re.search(r"[:：]", text)
    if len(items) < 2 and colon:
        items = re.split(r"[;；]", text[colon.end():])
    if len(items) >= 2 and _asking_items(items) >= 1:
        return True
    # after a colon, items set apart by commas are a list only where two of them ask: «Три вещи:
    # кто принимает решение, сколько у вас людей, …», 「我想确认三件事：AI项目谁拍板，现在线上有没有…」
    return colon is not None and _asking_items(re.split(r"[,，]", text[colon.end():])) >= 2


def _asking_items(items: list[str]) -> int:
    items = [item.strip(" ,;:，；：.。—–-") for item in items]
    return sum(bool(item) and bool(worded_as_question(item) or _ITEM_ASKS.search(item)) for item in items)


def clause_candidates(question: str, asks: Callable[[str], bool] | None = None,
                      enumerations: bool = True) -> list[str]:
    """The whole question plus its conjunct parts, so "how many people and who drives AI?" is
    judged both as a whole and as two questions."""
    split = [(separator, _LEADING_CONJUNCTION.sub("", p.strip(" ?？.。!！—-–")))
             for separator, p in _split_conjuncts(question.rstrip("?？.。!！"), enumerations)]
    numbered = bool(_NUMBERED.search(question))
    # an item of a numbered list may be a single word: "1) headcount, 2) …"
    split = [(s, p) for s, p in split if len(p.split()) >= 2 or len(_CJK.findall(p)) >= 4 or (numbered and len(p) >= 4)]
    # a Chinese clause before a comma is often a preamble or a condition (大概来说，如果…，): only
    # clauses that ask something themselves are judged on their own, or what 以及 / 还有 join to
    # a phrase before them in a question or request (「说说过去卡在哪儿，以及您心目中理想的样子」)
    listed = (enumerations and "、" in question) or numbered
    parts = [p for k, (s, p) in enumerate(split) if not _CJK.search(p) or _ZH_INTERROGATIVE.search(p) or listed
             or (k > 0 and _ZH_CONJUNCTION.search(s)) or (asks is not None and asks(p))]
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
    """The first marker found in `text` (case-insensitive) and where, or None; where two start at
    the same place, the one listed first. A marker counts only at the start of a Latin or Cyrillic
    word ("rag" is not in "average"); CJK has no word boundaries, so there any occurrence counts."""
    if not markers:
        return None
    match = _marker_pattern(tuple(markers)).search(text.lower())
    return (match.start(), markers[match.lastindex - 1]) if match and match.lastindex else None


@lru_cache(maxsize=256)
def _marker_pattern(markers: tuple[str, ...]) -> re.Pattern[str]:
    """One alternation for the whole list, compiled once: the leftmost match is the earliest
    marker, and among those starting there the regex tries them in list order."""
    alternatives = []
    for marker in markers:
        low = marker.lower()
        boundary = r"(?<![a-zа-яё0-9])" if re.match(r"[a-zа-яё0-9]", low) else ""
        alternatives.append(f"({boundary}{re.escape(low)})")
    return re.compile("|".join(alternatives))
