"""Which search terms of free text say what it is about.

Customers write sentences, not queries. ``content_terms`` keeps the terms of the
core tokeniser (so "申请退款" gives 申请, 请退, 退款, as the index holds them) minus
function words, digits and fragments: what suggestions and "worth writing" compare.
"""

from __future__ import annotations

import re

from tend.core.search import query_terms

# Words that say nothing about what a customer needs. Frequency in the articles
# catches the rest; this list only saves lookups and keeps groups from forming
# around "how do I".
_STOP_EN_WORDS = """a about after again all also am an and any are as at be been before
    being but by can cannot could did do does doing don done for from get gets getting got
    had has have having he her here hi hello his how i if in into is it its just let like
    me more most my no not now of off on once only or other our out over please same she
    should so some still such than thank thanks that the their them then there these they
    this those to too try tried trying under until up us use used using very want was we
    were what when where which while who why will with would yes yet you your"""
STOP_EN = frozenset(_STOP_EN_WORDS.split())
# A bigram holding one of these characters is a function-word pair ("我的", "了吗"),
# not part of a word.
STOP_ZH_CHARS = frozenset("的了吗呢吧啊呀我你您他她它们这那是也都就很把被么")
_STOP_ZH_WORDS = (
    "怎么 什么 为什 如何 可以 一下 一个 谢谢 请问 你好 您好 问题 现在 已经 因为 所以 "
    "但是 如果 还是 需要 时候 没有 不能 无法"
)
STOP_ZH = frozenset(_STOP_ZH_WORDS.split())

_CJK_START = re.compile(
    r"[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u9fff\uac00-\ud7ff\uf900-\ufaff]"
)


# Han characters: the unified ideographs with extension A, the compatibility block,
# and the supplementary planes' extensions B onwards (rare names and places).
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


def is_cjk(token: str) -> bool:
    return _CJK_START.match(token) is not None


def has_han(text: str) -> bool:
    """Whether ``text`` holds a Chinese character anywhere ("发票 PDF" does)."""
    return _HAN.search(text) is not None


def is_content_term(token: str) -> bool:
    if token.isdigit() or token in STOP_EN or token in STOP_ZH:
        return False
    if is_cjk(token):
        return len(token) >= 2 and STOP_ZH_CHARS.isdisjoint(token)
    return len(token) >= 3


def content_terms(text: str) -> list[str]:
    """The content terms of ``text`` in order, with repeats."""
    return [t.token for t in query_terms(text) if is_content_term(t.token)]
