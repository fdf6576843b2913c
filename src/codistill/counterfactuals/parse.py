"""Defensive parsing of a generator's reply into one candidate sentence.

LLMs wrap answers in quotes, prefaces ("Sure! Here is the modified sentence:"), code fences and
labels, or answer with several lines, a refusal, or an echo of the instructions. We strip what
is safely strippable and reject the rest with a reason code, so failures are countable.
"""

from __future__ import annotations

import re

from codistill.counterfactuals.text import normalise_space, words
from codistill.utils.secrets import carries_secret


class ParseError(ValueError):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


_QUOTES = "\"'`“”‘’«»"
_PREFIX = re.compile(
    r"^\s*(?:(?:sure|okay|ok|certainly|of course|here(?:'s| is| are)?)[^:\n]{0,80}:|"
    r"(?:modified|new|edited|counterfactual|revised|rewritten|flipped|output|answer|result)"
    r"(?: \w+){0,3}\s*[:\-]|sentence\s*:|text\s*:|review\s*:|tweet\s*:)\s*",
    re.IGNORECASE,
)
_REFUSAL = re.compile(
    r"^\s*(?:i\s*(?:cannot|can't|can ?not|won't|am unable|'m unable|'m sorry|am sorry)|as an ai|sorry\b|i apologi[sz]e)",
    re.I,
)
# phrases of our own instructions: a reply that repeats them is an echo, not a counterfactual
_ECHO = re.compile(
    r"ignore (?:all |the )?(?:previous|above|prior) instructions|return only|minimal change|"
    r"system prompt|you are an? (?:assistant|expert)|the teacher (?:still )?predicts|label\s*[:=]",
    re.IGNORECASE,
)


def _strip_wrapping(text: str) -> str:
    text = text.strip()
    text = re.sub(r"^```[a-z]*\s*|\s*```$", "", text).strip()
    for _ in range(3):
        new = _PREFIX.sub("", text, count=1).strip()
        if len(new) >= 2 and new[0] in _QUOTES and new[-1] in _QUOTES:
            new = new[1:-1].strip()
        elif len(new) >= 2 and new[0] in _QUOTES and new.count(new[0]) == 1 and new[-1] in ".!?" and new[-2] in _QUOTES:
            new = new[1:-2].strip() + new[-1]
        if new == text:
            break
        text = new
    return text


def parse_candidate(raw: str | None, original: str, *, max_growth: float = 2.0) -> str:
    """The candidate sentence in ``raw``, or :class:`ParseError` with a reason code."""
    if raw is None or not raw.strip():
        raise ParseError("parse:empty", "empty reply")
    text = raw.replace("\r\n", "\n").strip()
    text = re.sub(r"^```[a-z]*\s*|\s*```$", "", text).strip()
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    if len(lines) > 1:
        # a preface line ending in ':' followed by exactly one sentence is fine
        if len(lines) == 2 and (
            lines[0].endswith(":") or _PREFIX.match(lines[0] + (":" if not lines[0].endswith(":") else ""))
        ):
            lines = lines[1:]
        else:
            raise ParseError("parse:multiline", f"reply has {len(lines)} lines")
    text = _strip_wrapping(lines[0])
    if not text:
        raise ParseError("parse:empty", "nothing left after stripping quotes and prefaces")
    if carries_secret(text):  # a server or proxy echoing the request's key: never a counterfactual
        raise ParseError("parse:secret", "the reply carries a key or token")
    if _REFUSAL.match(text):
        raise ParseError("parse:refusal", "the model refused")
    if _ECHO.search(text) and not _ECHO.search(original):
        raise ParseError("parse:echo", "the reply repeats the instructions")
    if normalise_space(text).lower() == normalise_space(original).lower():
        raise ParseError("parse:unchanged", "identical to the original")
    toks = words(text)
    alpha = [t for t in toks if re.search(r"[a-z]", t)]
    if not alpha or sum(c.isalpha() for c in text) < 0.5 * len(text.replace(" ", "")):
        raise ParseError("parse:not_a_sentence", "no words")
    n_orig = max(1, len(words(original)))
    if len(toks) > max_growth * n_orig + 10:
        raise ParseError("parse:too_long", f"{len(toks)} words for a {n_orig}-word original")
    return text
