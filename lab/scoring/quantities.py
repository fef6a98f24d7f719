"""Quantities in free text, normalised so that "~100k", "около 100 тысяч" and "10万" compare.

Topical similarity cannot tell 10k from 100k employees or 20 hours a week from 20 hours a month;
the capture judge compares the numbers, percentages and periods found here instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MULTIPLIERS: dict[str, float] = {
    "k": 1e3, "к": 1e3, "тыс": 1e3, "тысяч": 1e3, "тысяча": 1e3, "тысячи": 1e3, "тысячу": 1e3,
    "thousand": 1e3, "thousands": 1e3, "千": 1e3, "万": 1e4, "萬": 1e4,
    "m": 1e6, "mln": 1e6, "млн": 1e6, "миллион": 1e6, "миллиона": 1e6, "миллионов": 1e6,
    "million": 1e6, "millions": 1e6, "百万": 1e6, "亿": 1e8, "億": 1e8,
    "bn": 1e9, "b": 1e9, "млрд": 1e9, "миллиард": 1e9, "миллиарда": 1e9, "миллиардов": 1e9,
    "billion": 1e9,
}

EN_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
    "a": 1, "half": 0.5, "dozen": 12,
}
RU_UNITS = {
    "ноль": 0, "один": 1, "одна": 1, "одну": 1, "два": 2, "две": 2, "три": 3, "четыре": 4,
    "пять": 5, "шесть": 6, "семь": 7, "восемь": 8, "девять": 9, "десять": 10, "одиннадцать": 11,
    "двенадцать": 12, "пятнадцать": 15, "двадцать": 20, "тридцать": 30, "сорок": 40,
    "пятьдесят": 50, "шестьдесят": 60, "семьдесят": 70, "восемьдесят": 80, "девяносто": 90,
    "сто": 100, "двести": 200, "триста": 300, "четыреста": 400, "пятьсот": 500, "шестьсот": 600,
    "семьсот": 700, "восемьсот": 800, "девятьсот": 900, "полтора": 1.5, "полторы": 1.5,
    "пара": 2, "пару": 2, "десяток": 10, "сотня": 100, "сотни": 100,
    # genitive/prepositional forms: "около ста тысяч", "тысячи двухсот", "сорока часов"
    "двух": 2, "трёх": 3, "трех": 3, "четырёх": 4, "четырех": 4, "пяти": 5, "шести": 6, "семи": 7,
    "восьми": 8, "девяти": 9, "десяти": 10, "двенадцати": 12, "пятнадцати": 15, "двадцати": 20,
    "тридцати": 30, "сорока": 40, "пятидесяти": 50, "шестидесяти": 60, "семидесяти": 70,
    "восьмидесяти": 80, "девяноста": 90, "ста": 100, "двухсот": 200, "трёхсот": 300, "трехсот": 300,
    "четырёхсот": 400, "пятисот": 500, "шестисот": 600, "семисот": 700, "восьмисот": 800,
    "девятисот": 900, "полутора": 1.5,
}
SCALE_WORDS = {
    "hundred": 100.0, "thousand": 1e3, "million": 1e6, "billion": 1e9,
    "тысяча": 1e3, "тысячи": 1e3, "тысяч": 1e3, "тысячу": 1e3,
    "миллион": 1e6, "миллиона": 1e6, "миллионов": 1e6, "миллиард": 1e9, "миллиардов": 1e9,
}
ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5,
             "六": 6, "七": 7, "八": 8, "九": 9, "半": 0.5}
ZH_SMALL = {"十": 10, "百": 100, "千": 1000}
ZH_LARGE = {"万": 1e4, "萬": 1e4, "亿": 1e8, "億": 1e8}

# what may follow a Chinese numeral for it to count something: 三天, 五家, 两通; 两地 is a word
ZH_MEASURE_WORDS = set("个個名人位家次周週月年天小季条條通件张張份单單笔筆台套种種项項回遍倍成分元块塊"
                       "岁歲级級层層步批期轮輪点點号號趟起例封间間所座组組支队隊部门門处處类類样樣只隻"
                       "双雙对對段万萬千百十亿億时時秒")

PERIODS: dict[str, tuple[str, ...]] = {
    "second": ("second", "seconds", "sec", "secs", "секунд", "секунды", "секунду", "сек", "秒", "秒钟"),
    "minute": ("minute", "minutes", "min", "mins", "минут", "минуты", "минуту", "мин", "分钟", "分鐘"),
    "hour": ("hour", "hours", "hr", "hrs", "h", "час", "часа", "часов", "ч", "小时", "小時", "個小時", "个小时"),
    "day": ("day", "days", "день", "дня", "дней", "сутки", "天", "日"),
    "week": ("week", "weeks", "weekly", "wk", "wks", "неделю", "недели", "неделя", "недель", "нед", "周", "星期", "週"),
    "month": ("month", "months", "monthly", "mo", "mos", "месяц", "месяца", "месяцев", "мес", "月", "个月", "個月"),
    "quarter": ("quarter", "quarters", "квартал", "квартала", "季度"),
    "year": ("year", "years", "annually", "yearly", "yr", "yrs", "год", "года", "лет", "年"),
    # not a period but a unit that must not turn into hours or money: 400 people vs 400 hours
    "people": ("people", "employees", "staff", "persons", "headcount", "fte", "человек", "сотрудников",
               "сотрудника", "сотрудники", "людей", "人", "名", "员工", "名员工"),
}
CURRENCIES: dict[str, tuple[str, ...]] = {
    "USD": ("$", "usd", "dollar", "dollars", "долл", "доллар", "долларов", "美元"),
    "EUR": ("€", "eur", "euro", "euros", "евро", "欧元"),
    "RUB": ("₽", "руб", "рублей", "рубля", "рубль", "rub", "卢布"),
    "GBP": ("£", "gbp", "pound", "pounds", "фунт", "фунтов", "фунта", "英镑"),
    "CNY": ("¥", "元", "人民币", "rmb", "cny", "yuan"),
}
PERCENT_WORDS = ("%", "％", "percent", "per cent", "процент", "процента", "процентов", "百分之")

# Fractions said in words are shares: "a third of the week" and "33%" state the same thing.
FRACTIONS: dict[str, float] = {
    "a third": 100 / 3, "one third": 100 / 3, "a quarter": 25.0, "one quarter": 25.0, "half": 50.0,
    "two thirds": 200 / 3, "треть": 100 / 3, "трети": 100 / 3, "четверть": 25.0, "четверти": 25.0,
    "половина": 50.0, "половину": 50.0, "половины": 50.0, "две трети": 200 / 3,
    "三分之一": 100 / 3, "四分之一": 25.0, "一半": 50.0, "三分之二": 200 / 3,
    **{f"{digit}成": 10.0 * value for digit, value in zip("一二三四五六七八九", range(1, 10), strict=True)},
}
_FRACTION = re.compile(
    "|".join(r"(?<!and a )(?<!and )\bhalf\b" if k == "half"
             # "for a quarter" is three months; "a quarter of the tickets" is a share
             else re.escape(k) + r"(?= of\b)" if k.endswith("quarter")
             else re.escape(k)
             for k in sorted(FRACTIONS, key=len, reverse=True)),
    re.IGNORECASE,
)
# "a year", "в год", "一年": the number one naming a period is not a quantity of its own
_ONE_WORDS = {"a", "one", "один", "одна", "одну", "一"}

_TOKEN = re.compile(
    r"\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?:[.,]\d+)?"  # 1 200 / 1 200,5
    r"|\d+(?:[.,]\d+)*"                            # 1200 / 1,200 / 1.5
    r"|百分之|小时|小時|个月|個月|分钟|分鐘|秒钟|星期|季度|人民币|美元|欧元|英镑|卢布"
    r"|[零〇一二两兩三四五六七八九十百千万萬亿億半]+"
    r"|[$€₽¥£%％]"
    r"|[A-Za-zА-Яа-яЁё]+"
    r"|[^\s\w]"
    r"|[\u4e00-\u9fff]"
)


@dataclass(frozen=True)
class Quantity:
    """A number with what it counts: percent, currency and time unit/period where stated."""

    value: float
    percent: bool = False
    currency: str | None = None
    periods: tuple[str, ...] = ()

    def matches(self, other: Quantity, tolerance: float = 0.02) -> bool:
        if self.percent != other.percent:
            return False
        return relatively_close(self.value, other.value, tolerance) or self.same_duration(other, tolerance)

    def same_duration(self, other: Quantity, tolerance: float) -> bool:
        """Half a year is six months: a duration in one time unit matches the same duration in
        another (weeks per month are not whole, hence the wider tolerance)."""
        if len(self.periods) != 1 or len(other.periods) != 1 or self.periods == other.periods:
            return False
        days = [DURATION_DAYS.get(self.periods[0]), DURATION_DAYS.get(other.periods[0])]
        if days[0] is None or days[1] is None:
            return False
        return relatively_close(self.value * days[0], other.value * days[1], max(tolerance, 0.05))


DURATION_DAYS = {"second": 1 / 86400, "minute": 1 / 1440, "hour": 1 / 24, "day": 1.0, "week": 7.0,
                 "month": 365.25 / 12, "quarter": 365.25 / 4, "year": 365.25}


def relatively_close(a: float, b: float, tolerance: float) -> bool:
    return abs(a - b) / max(abs(a), abs(b), 1e-9) <= tolerance


def _parse_digits(token: str) -> float | None:
    compact = re.sub(r"[ \u00a0\u202f]", "", token)
    if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", compact):
        compact = compact.replace(",", "")
    elif re.fullmatch(r"\d{1,3}(\.\d{3})+(,\d+)?", compact):
        compact = compact.replace(".", "").replace(",", ".")
    else:
        compact = compact.replace(",", ".")
    try:
        return float(compact)
    except ValueError:
        return None


def parse_chinese_number(text: str) -> float | None:
    """一千二百 → 1200, 八万 → 80000, 十五 → 15, 两亿 → 2e8."""
    if not text or text[0] in ZH_LARGE:
        return None  # a bare 万/亿 is a word (万一 "in case"), not a number; 十万 / 百万 are numbers
    total, section, digit, last_unit = 0.0, 0.0, None, 1.0
    for ch in text:
        if ch in ZH_DIGITS:
            digit = float(ZH_DIGITS[ch])
        elif ch in ZH_SMALL:
            section += (digit if digit is not None else 1.0) * ZH_SMALL[ch]
            digit, last_unit = None, ZH_SMALL[ch]
        elif ch in ZH_LARGE:
            section += digit or 0.0
            total += (section or 1.0) * ZH_LARGE[ch]
            section, digit, last_unit = 0.0, None, ZH_LARGE[ch]
    # a digit right after a unit counts in the next lower unit: 二千五 is 2 500, 一万二 is 12 000
    if digit is not None and last_unit >= 100 and text[-2] not in "零〇":
        digit *= last_unit / 10
    return total + section + (digit or 0.0)


def _word_value(word: str) -> float | None:
    return EN_UNITS.get(word, RU_UNITS.get(word)) if word != "a" else None


RANGE_MARKS = {"-", "–", "—", "~"}  # "from 3 days to 3 hours" is two quantities, not a range
CLAUSE_BREAKS = {",", ";", ".", ":", "(", ")", "，", "；", "。", "：", "（", "）", "and", "и", "和", "but", "но"}


def _is_number_token(token: str) -> bool:
    if token.lower() in MULTIPLIERS:
        return False
    return token[0].isdigit() or bool(re.fullmatch(r"[零〇一二两兩三四五六七八九十百千万萬亿億]+", token))


def _lookahead(tokens: list[str], start: int, width: int = 4) -> list[str]:
    """The words after a number that may qualify it, up to the next clause or the next number
    (except the far end of a range, "5–10 дней", which shares the unit)."""
    out: list[str] = []
    for token in tokens[start:start + width + 1]:
        low = token.lower()
        if low == "." and out and out[-1] in MULTIPLIERS:
            continue  # the dot of an abbreviation: "80 тыс. юаней"
        if low in CLAUSE_BREAKS:
            break
        if _is_number_token(token) and not (out and out[-1] in RANGE_MARKS):
            break
        out.append(low)
    return out


def _annotate(value: float, tokens: list[str], end: int, before: list[str]) -> tuple[Quantity, int]:
    """Apply a multiplier right after the number, then read percent/currency/periods around it."""
    ahead = _lookahead(tokens, end)
    consumed = end
    if ahead and ahead[0] in MULTIPLIERS and not (ahead[0] in {"m", "b"} and len(ahead) > 1
                                                  and ahead[1] in {"²", "2"}):
        value *= MULTIPLIERS[ahead[0]]
        consumed += 1
        ahead = ahead[1:]
    window = before[-2:] + ahead
    joined = " ".join(window)
    percent = any(w in window for w in ("%", "％")) or any(p in joined for p in PERCENT_WORDS[2:])
    currency = next((code for code, marks in CURRENCIES.items()
                     if any(m in window for m in marks)), None)
    periods = tuple(name for word in ahead for name, marks in PERIODS.items() if word in marks)
    if before and before[-1] in _RU_UNIT_FIRST:  # «часов пятнадцать» is about fifteen hours
        periods += tuple(name for name, marks in PERIODS.items() if before[-1] in marks)
    for lead, word in zip(before, before[1:], strict=False):  # 每月约3,000工时, "per week 20 hours"
        if lead in ("每", "per", "в", "за", "每个"):
            periods += tuple(name for name, marks in PERIODS.items() if word in marks)
    return Quantity(value, percent, currency, periods), consumed


# Russian puts the unit first to say "about": «часов пятнадцать», «дней пять», «человек сорок»
_RU_UNIT_FIRST = {"часов", "минут", "секунд", "дней", "недель", "месяцев", "лет", "человек", "сотрудников"}


def _calendar_month(tokens: list[str], end: int) -> bool:
    """六月底 / 6月份 name a month of the calendar (June), not six months (六个月)."""
    return end < len(tokens) and tokens[end] == "月"


# Month names are numbers too: "by the end of June", "до конца июня" and "六月底" state one deadline.
_MONTH_NAME = re.compile(
    r"^(?:(january|jan)|(february|feb)|(march|mar)|(april|apr)|(May)|(june|jun)|(july|jul)|(august|aug)|(september|sept|sep)"
    r"|(october|oct)|(november|nov)|(december|dec))$"
    r"|^(?:(январ\w*|янв)|(феврал\w*|фев)|(март[аеу]?|мар)|(апрел\w*|апр)|(ма[йяе]))$"
    r"|^(?:(июн[ьяе]|июн)|(июл[ьяе]|июл)|(август[аеу]?|авг)|(сентябр\w*|сент|сен)|(октябр\w*|окт)|(ноябр\w*|нояб|ноя)"
    r"|(декабр\w*|дек))$"
)
CALENDAR_MONTH = "calendar_month"


def month_number(token: str) -> int | None:
    match = _MONTH_NAME.match(token if token == "May" else token.lower())
    if not match:
        return None
    index = next(i for i, group in enumerate(match.groups()) if group)
    return index % 12 + 1


# "once a week", "twice a month", "раз в неделю", "дважды в месяц": how often is a number
_FREQUENCY = {"once": 1.0, "twice": 2.0, "дважды": 2.0, "трижды": 3.0}


# half of a period is a duration, not a share: "half a year" is six months, "half the tickets" is 50 %
_HALF_PERIOD = [
    (re.compile(r"\bhalf an? (year|month|week|day|hour)\b", re.IGNORECASE), r"0.5 \1"),
    (re.compile(r"(?<![А-Яа-яЁё])пол(?:у)?(года|часа|дня|месяца)(?![А-Яа-яЁё])", re.IGNORECASE), r"0.5 \1"),
]


# 五到十天 / 三至五家 / 三或四次: the first numeral of a range counts as much as the second
_ZH_RANGE_WORDS = {"到", "至", "或"}

# Growth said as a multiple: 多处理一倍 / 翻一倍 / 增加一倍 ("one more times") is twice as much, the
# same as 两倍, "twice as many" and «вдвое больше»; written as the multiple itself so that they compare.
_MULTIPLE = [
    (re.compile(r"翻了?(?:一番|一倍|倍)"), "2倍"),
    (re.compile(r"([多增]\w{0,3}?|提高了?|提升了?|增长了?)一倍"), r"\g<1>2倍"),
    (re.compile(r"(?<![А-Яа-яЁё])(?:вдвое|удв[ао]\w*)(?![А-Яа-яЁё])", re.IGNORECASE), "в 2 раза"),
    (re.compile(r"(?<![А-Яа-яЁё])втрое(?![А-Яа-яЁё])", re.IGNORECASE), "в 3 раза"),
    (re.compile(r"\b(?:double[sd]?)\b(?! check| checks| checked|-check)", re.IGNORECASE), "2x"),
]

_CJK_CHAR = re.compile(r"[\u4e00-\u9fff]")
_SHORT_YEAR = re.compile(r"[’'‘](\d{2})(?!\d)")


def extract_quantities(text: str) -> list[Quantity]:
    text = _SHORT_YEAR.sub(r"20\1", text)  # "('22)" is 2022
    for pattern, replacement in [*_HALF_PERIOD, *_MULTIPLE]:
        text = pattern.sub(replacement, text)
    fractions = [Quantity(FRACTIONS[m.group(0).lower()], percent=True) for m in _FRACTION.finditer(text)]
    return _numbers(_FRACTION.sub(" ", text)) + fractions


def _numbers(text: str) -> list[Quantity]:
    tokens = _TOKEN.findall(text)
    lowered = [t.lower() for t in tokens]
    out: list[Quantity] = []
    i = 0
    while i < len(tokens):
        tok, low = tokens[i], lowered[i]
        value: float | None = None
        end = i + 1
        if tok[0].isdigit():
            value = _parse_digits(tok)
        elif re.fullmatch(r"[零〇一二两兩三四五六七八九十百千万萬亿億半]+", tok):
            nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
            after = tokens[i + 2] if i + 2 < len(tokens) else ""
            if len(tok) == 1 and tok not in "十百千万萬亿億" and nxt and _CJK_CHAR.fullmatch(nxt) \
                    and nxt not in ZH_MEASURE_WORDS and tok not in ("一", "半") \
                    and not (nxt in _ZH_RANGE_WORDS and after and _is_number_token(after)) \
                    and not (i and tokens[i - 1] in ("百分之", "第", "约", "近", "超", "共")):
                i += 1  # part of a word such as 两地 / 三方 / 四处, not a count
                continue
            if tok in ("一", "半") and nxt and (nxt not in ZH_MEASURE_WORDS
                                              or (nxt in "个個" and not any(after in m for m in PERIODS.values()))):
                i += 1  # part of a word such as 一些 / 一起 / 一般, not a number
                continue
            value = parse_chinese_number(tok)
        elif low in SCALE_WORDS or _word_value(low) is not None or (
            low == "a" and i + 1 < len(tokens) and lowered[i + 1] in SCALE_WORDS
        ):
            total, current = 0.0, 0.0
            j = i
            while j < len(tokens):
                w = lowered[j]
                if w in SCALE_WORDS:
                    scale = SCALE_WORDS[w]
                    if scale == 100:
                        current = (current or 1.0) * 100
                    else:
                        total += (current or 1.0) * scale
                        current = 0.0
                elif w == "a" and j + 1 < len(tokens) and lowered[j + 1] in SCALE_WORDS:
                    current += 1
                elif w in ("and", "a") and lowered[j + 1:j + 3] in (["a", "half"], ["half"]):
                    current += 0.5  # "two and a half thousand"
                    j += 2 if lowered[j + 1] == "a" else 1
                elif _word_value(w) is not None:
                    current += _word_value(w) or 0.0
                elif w in ("and", "и", "-") and j + 1 < len(tokens) and (
                    _word_value(lowered[j + 1]) is not None or lowered[j + 1] in SCALE_WORDS
                ):
                    pass
                else:
                    break
                j += 1
            value, end = total + current, j
        if value is not None and _calendar_month(tokens, end):
            out.append(Quantity(value, periods=(CALENDAR_MONTH,)))
            i = end + 1
            continue
        if value is None and (month := month_number(tok)) is not None:
            out.append(Quantity(float(month), periods=(CALENDAR_MONTH,)))
            i += 1
            continue
        following = lowered[i + 1:i + 2]
        if value is None and ((low in _FREQUENCY and (low != "once" or following in (["a"], ["per"], ["every"])))
                              or (low == "раз" and following in (["в"], ["за"]))):
            value = _FREQUENCY.get(low, 1.0)
        if value is None:
            i += 1
            continue
        quantity, end = _annotate(value, tokens, end, lowered[max(0, i - 10):i])
        names_period = end < len(tokens) and any(lowered[end] in marks for marks in PERIODS.values())
        if not (quantity.value == 1 and names_period and low in _ONE_WORDS):
            out.append(quantity)
        i = max(end, i + 1)
    return out
