"""Word-level views of a text: tokens with character spans, edits applied in place, and the edit
measures the quality report and the selection rule share (edited words, character edit ratio).

Edits are applied to the *original string* through character spans, so untouched text keeps its
exact spacing and casing (SST-2's "is n't" stays "is n't"; "isn't" stays "isn't").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# n't first, so SST-2's split contractions ("is n't", "it 's") stay separate tokens; plain
# contractions ("isn't", "it's") are one token.
_TOKEN = re.compile(r"n't\b|'(?:s|re|ve|ll|d|m)\b|\w+(?:[-'’]\w+)*|[^\w\s]", re.IGNORECASE)


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int

    @property
    def lower(self) -> str:
        return self.text.lower()


def tokenize(text: str) -> list[Token]:
    return [Token(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def words(text: str) -> list[str]:
    """Lower-cased tokens, the unit of every word-level measure."""
    return [m.group().lower() for m in _TOKEN.finditer(text)]


def has_words(text: str) -> bool:
    """Whether a text keeps any letter or digit: a candidate that deletes every word ("" or ".")
    is never a counterfactual, whatever the teacher says about it."""
    return any(ch.isalnum() for ch in text)


@dataclass(frozen=True)
class Edit:
    """Replace tokens ``[start, end)`` with ``new`` (a list of words; empty = delete;
    ``start == end`` = insert before token ``start``)."""

    start: int
    end: int
    new: tuple[str, ...]
    op: str = ""

    @property
    def cost(self) -> int:
        """Edited words: a substitution of n by m words costs max(n, m)."""
        return max(self.end - self.start, len(self.new))

    def overlaps(self, other: Edit) -> bool:
        """Edits that touch the same tokens, or an insertion at the edge of another edit (the
        combined order would be ambiguous), cannot be combined."""
        if max(self.start, other.start) < min(self.end, other.end):
            return True
        for ins, rng in ((self, other), (other, self)):
            if ins.start == ins.end and rng.start <= ins.start <= rng.end:
                return True
        return False


def apply_edits(text: str, tokens: list[Token], edits: list[Edit] | tuple[Edit, ...]) -> str:
    """The text with non-overlapping ``edits`` applied (right to left, so spans stay valid)."""
    out = text
    for edit in sorted(edits, key=lambda e: (e.start, e.end), reverse=True):
        if edit.start < edit.end:
            a, b = tokens[edit.start].start, tokens[edit.end - 1].end
            replacement = " ".join(edit.new)
            if not edit.new:  # deletion: also drop one neighbouring space
                if b < len(out) and out[b : b + 1] == " ":
                    b += 1
                elif a > 0 and out[a - 1 : a] == " ":
                    a -= 1
            else:
                replacement = _match_case(tokens[edit.start].text, replacement)
            out = out[:a] + replacement + out[b:]
        else:  # insertion before token `start` (or at the end)
            if edit.start < len(tokens):
                a = tokens[edit.start].start
                replacement = " ".join(edit.new) + " "
                first = tokens[edit.start].text
                if edit.start == 0 and first[:1].isupper() and first[1:2].islower():
                    # sentence-initial insert: the new word takes the capital
                    replacement = _match_case(first, replacement)
                    out = out[:a] + replacement + first[0].lower() + out[a + 1 :]
                    continue
            else:
                a = len(out.rstrip())
                replacement = " " + " ".join(edit.new)
            out = out[:a] + replacement + out[a:]
    return out


def _match_case(template: str, word: str) -> str:
    if template[:1].isupper() and word[:1].islower():
        return word[:1].upper() + word[1:]
    return word


def levenshtein(a: list[str], b: list[str]) -> int:
    """Edit distance over sequences (words or characters)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        current = [i]
        for j, y in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def edited_words(original: str, counterfactual: str) -> int:
    """Word-level edit distance (insertions, deletions and substitutions of words)."""
    return levenshtein(words(original), words(counterfactual))


def char_edit_ratio(original: str, counterfactual: str) -> float:
    """Character edit distance divided by the original's length."""
    return levenshtein(list(original), list(counterfactual)) / max(1, len(original))


def normalise_space(text: str) -> str:
    return " ".join(text.split())
