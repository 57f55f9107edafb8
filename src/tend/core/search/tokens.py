"""The search tokeniser: one function turns text into the terms both databases index.

Neither SQLite's nor PostgreSQL's own tokenisers split Chinese, Japanese or Korean
text into anything searchable (a whole sentence comes out as one "word"), so Tend
tokenises in Python and hands the databases space-separated terms they store as-is:

* CJK runs (Han, kana, Hangul) become every single character plus every overlapping
  bigram: "申请退款" -> 申, 申请, 请, 请退, 退, 退款, 款. A two-character query is then
  one exact term lookup, and a longer one is the AND of its bigrams.
* Other text becomes words of letters, digits and combining marks ("e2e", "naïve",
  "हिन्दी"). Emails and dotted names ("li.wei@example.com", "example.com", "v1.2.3")
  are kept whole *and* split into their words, so both the exact address and its
  parts find the document.

Everything is NFKC-normalised and case-folded first, so full-width "ＡＢＣ" finds "abc".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from itertools import pairwise

# Scripts written without spaces between words. Kana and Hangul are included: bigrams
# work for Japanese, and Korean queries often omit the spaces a document has.
_CJK = (
    "\u1100-\u11ff"  # Hangul Jamo
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3130-\u318f"  # Hangul compatibility Jamo
    "\u31f0-\u31ff"  # Katakana phonetic extensions
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\ua960-\ua97f"  # Hangul Jamo extended-A
    "\uac00-\ud7ff"  # Hangul syllables, Jamo extended-B
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\U00020000-\U0003134f"  # CJK extensions B-G
)


@cache
def _mark_ranges() -> str:
    """A regex class body of the combining marks in the BMP (Python's \\w lacks them,
    which would cut Devanagari or Thai words apart at every vowel sign)."""
    ranges: list[tuple[int, int]] = []
    for code in range(0x300, 0x10000):
        if unicodedata.category(chr(code)).startswith("M"):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return "".join(f"\\u{a:04x}-\\u{b:04x}" if a != b else f"\\u{a:04x}" for a, b in ranges)


_LETTER = rf"[^\W_{_CJK}]"  # a letter or digit outside CJK (Python's \w minus "_")
_WORD = rf"{_LETTER}+(?:[{_mark_ranges()}]+{_LETTER}*)*"
# A chunk is words joined by the characters of emails, domains and versions. Matching
# chunks first and looking inside the rare ones that hold a joiner is three times
# faster than offering the regex engine email/domain/word alternatives at every word.
_CHUNK_RE = re.compile(rf"(?P<cjk>[{_CJK}]+)|(?P<chunk>{_WORD}(?:[.@+%\-]{_WORD})*)")
_WORD_RE = re.compile(_WORD)
_EMAIL_RE = re.compile(r"[a-z0-9][a-z0-9._%+-]*@[a-z0-9-]+(?:\.[a-z0-9-]+)+")
_SPLIT_RE = re.compile(r"[@+%\-]")
_JOINERS = frozenset(".@+%-")

# Longer "words" are base64 blobs, hashes or URLs gone wrong; cutting them keeps the
# index small and PostgreSQL's 2 KB lexeme limit far away. Queries are cut the same way.
MAX_TOKEN_CHARS = 64


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _bigrams(run: str) -> list[str]:
    return [a + b for a, b in pairwise(run)]


def _words(text: str) -> list[str]:
    return [w[:MAX_TOKEN_CHARS] for w in _WORD_RE.findall(text)]


def _compounds(chunk: str) -> list[tuple[str, list[str]]]:
    """The emails and dotted names in a chunk, each with its words; plain words come
    back with no parts. "li.wei+vip@example.com" is one email; "v1.2-beta" is the
    dotted "v1.2" and the word "beta"."""
    if _EMAIL_RE.fullmatch(chunk):
        local, _at, domain = chunk.partition("@")
        return [(chunk, _words(local)), (domain, _words(domain))]
    out: list[tuple[str, list[str]]] = []
    for piece in _SPLIT_RE.split(chunk):
        if "." in piece:
            out.append((piece, _words(piece)))
        elif piece:
            out.append((piece, []))
    return out


def tokenize(text: str) -> list[str]:
    """Index-time terms of ``text``, with repeats."""
    out: list[str] = []
    for match in _CHUNK_RE.finditer(normalize(text)):
        value = match.group()
        if match.lastgroup == "cjk":
            out += value
            out += _bigrams(value)
        elif _JOINERS.isdisjoint(value):
            out.append(value[:MAX_TOKEN_CHARS])
        else:
            for whole, parts in _compounds(value):
                out.append(whole[:MAX_TOKEN_CHARS])
                out += parts
    return out


@dataclass(frozen=True)
class QueryTerm:
    """One thing a matching document must contain: ``token``, or (for an email or dotted
    name) all of ``parts``; ``prefix`` also accepts longer terms starting with ``token``."""

    token: str
    parts: tuple[str, ...] = ()
    prefix: bool = False


# A prefix shorter than this would touch a large slice of the vocabulary.
MIN_PREFIX_CHARS = 3


def query_terms(q: str, *, prefix: bool = False) -> list[QueryTerm]:
    """The terms a query is the AND of, tokenised exactly like documents.

    A CJK run of two or more characters needs only its bigrams (the singles add
    nothing but cost); a lone character is looked up as the single it is. With
    ``prefix``, the last word also matches as a prefix, for search-as-you-type, unless
    the query ends in a space (the user finished that word).
    """
    terms: list[QueryTerm] = []
    seen: set[QueryTerm] = set()

    def add(term: QueryTerm) -> None:
        if term not in seen:
            seen.add(term)
            terms.append(term)

    for match in _CHUNK_RE.finditer(normalize(q)):
        value = match.group()
        if match.lastgroup == "cjk":
            if len(value) == 1:
                add(QueryTerm(value))
            for bigram in _bigrams(value):
                add(QueryTerm(bigram))
        elif _JOINERS.isdisjoint(value):
            add(QueryTerm(value[:MAX_TOKEN_CHARS]))
        else:  # an email or dotted name matches whole, or by all of its words
            for whole, parts in _compounds(value):
                add(QueryTerm(whole[:MAX_TOKEN_CHARS], parts=tuple(dict.fromkeys(parts))))
    if prefix and terms and not q[-1:].isspace():
        last = terms[-1]
        if not last.parts and len(last.token) >= MIN_PREFIX_CHARS and _is_word(last.token):
            terms[-1] = QueryTerm(last.token, prefix=True)
    return terms


def _is_word(token: str) -> bool:
    return _WORD_RE.fullmatch(token) is not None


def unique(tokens: list[str]) -> list[str]:
    """Tokens once each, in first-seen order. Documents store each term once: the index
    is a third smaller for Chinese text, and ranking rests on where a term occurs
    (subject or body), not how often."""
    return list(dict.fromkeys(tokens))
