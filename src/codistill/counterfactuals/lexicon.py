"""Lexical resources of the offline editor: antonyms (WordNet + a curated list), word polarity
(VADER and AFINN lexicons) and the inflection rules that keep a swap grammatical
("loves" -> "hates", "better" -> "worse", "beautifully" -> "poorly").

Everything is read from installed packages and the Debian ``wordnet-base`` files at run time; a
missing resource only narrows the edits on offer (``Lexicon.sources`` says what was found).
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from codistill.utils.hashing import fingerprint

RESOURCES = Path(__file__).with_name("resources")
POS_NAMES = {"a": "adj", "s": "adj", "v": "verb", "n": "noun", "r": "adv"}
WN_FILES = {"a": "adj", "v": "verb", "n": "noun", "r": "adv"}
WORDNET_DIRS = ("/usr/share/wordnet", "/usr/local/share/wordnet", "/usr/local/WordNet-3.0/dict")

# morphy-style detachment rules: (suffix, replacement, form)
_DETACH = {
    "n": [
        ("ses", "s", "pl"),
        ("xes", "x", "pl"),
        ("zes", "z", "pl"),
        ("ches", "ch", "pl"),
        ("shes", "sh", "pl"),
        ("men", "man", "pl"),
        ("ies", "y", "pl"),
        ("s", "", "pl"),
    ],
    "v": [
        ("ies", "y", "s"),
        ("es", "e", "s"),
        ("es", "", "s"),
        ("s", "", "s"),
        ("ied", "y", "ed"),
        ("ed", "e", "ed"),
        ("ed", "", "ed"),
        ("ing", "e", "ing"),
        ("ing", "", "ing"),
    ],
    "a": [
        ("iest", "y", "est"),
        ("ier", "y", "er"),
        ("est", "e", "est"),
        ("er", "e", "er"),
        ("est", "", "est"),
        ("er", "", "er"),
    ],
    "r": [],
}


@dataclass(frozen=True)
class Analysis:
    lemma: str
    pos: str  # a, v, n, r
    form: str  # base, s, ed, ing, pl, er, est, ly


@dataclass
class Lexicon:
    polarity: dict[str, float] = field(default_factory=dict)  # -1 (negative) .. +1 (positive)
    antonyms: dict[tuple[str, str], dict[str, float]] = field(default_factory=lambda: defaultdict(dict))
    pos_weight: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    exceptions: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))  # pos -> form -> lemma
    curated: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))  # pos -> word -> opposite
    sources: list[str] = field(default_factory=list)
    _inverse: dict | None = field(default=None, repr=False)

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def load(cls, wordnet_dir: str | None = None, *, sentiment: bool = True) -> Lexicon:
        return _load_cached(wordnet_dir or "", sentiment)

    @property
    def fingerprint(self) -> str:
        return fingerprint({"sources": self.sources, "n_pol": len(self.polarity), "n_ant": len(self.antonyms)})

    # -- queries --------------------------------------------------------------------------
    def polarity_of(self, word: str) -> float:
        word = word.lower()
        if word in self.polarity:
            return self.polarity[word]
        for a in self.analyse(word):
            if a.lemma in self.polarity:
                return self.polarity[a.lemma]
        return 0.0

    def has_pos(self, lemma: str, pos: str) -> bool:
        return pos in self.pos_weight.get(lemma, {}) or lemma in self.curated.get(pos, {})

    def dominant_pos(self, word: str) -> str | None:
        best = max(
            self.analyse(word),
            key=lambda a: (self.pos_weight.get(a.lemma, {}).get(a.pos, 0), a.form == "base"),
            default=None,
        )
        return best.pos if best else None

    def analyse(self, word: str) -> list[Analysis]:
        """Possible (lemma, part of speech, inflection) readings, the word's main POS first."""
        return list(_analyse(self, word.lower()))

    def opposites(self, word: str, *, max_pos: int = 2) -> list[tuple[str, str, float]]:
        """(replacement, source, weight) for antonym swaps of ``word``, inflected like ``word``.

        Only readings in the word's ``max_pos`` most common parts of speech are used, so "fine"
        (mostly an adjective) is not swapped as if it were the noun "a fine".
        """
        word_l = word.lower()
        readings = self.analyse(word_l)
        weights = {a: self.pos_weight.get(a.lemma, {}).get(a.pos, 0) for a in readings}
        ranked_pos = []
        for a in sorted(readings, key=lambda a: -weights[a]):
            if a.pos not in ranked_pos:
                ranked_pos.append(a.pos)
        keep = set(ranked_pos[:max_pos])
        # a curated reading always counts ("boring" is mostly the verb "bore" in WordNet, but the
        # curated adjective pair boring/entertaining is what a review means)
        keep |= {a.pos for a in readings if a.lemma in self.curated.get(a.pos, {})}
        out: dict[str, tuple[str, float]] = {}
        for a in readings:
            if a.pos not in keep:
                continue
            candidates: dict[str, float] = {}
            if a.lemma in self.curated.get(a.pos, {}):
                for opp in self.curated[a.pos][a.lemma].split("|"):
                    candidates[opp] = 1.0
            for opp, w in self.antonyms.get((a.lemma, a.pos), {}).items():
                candidates.setdefault(opp, w)
            for opp, w in candidates.items():
                form = self.inflect(opp, a.pos, a.form)
                if form and form != word_l and form not in out:
                    out[form] = ("curated" if w == 1.0 else "wordnet", w)
        return [(k, src, w) for k, (src, w) in sorted(out.items(), key=lambda kv: -kv[1][1])]

    def inflect(self, lemma: str, pos: str, form: str) -> str | None:
        if form == "base":
            return lemma
        if " " in lemma or "_" in lemma:
            return None
        if self._inverse is None:
            self._inverse = _inverse_exceptions(self)
        inverse = self._inverse
        if (pos, lemma, form) in inverse:
            return inverse[(pos, lemma, form)]
        if form in ("s", "pl"):
            if re.search(r"[^aeiou]y$", lemma):
                return lemma[:-1] + "ies"
            return lemma + ("es" if re.search(r"(s|x|z|ch|sh)$", lemma) else "s")
        if form == "ed":
            if lemma.endswith("e"):
                return lemma + "d"
            if re.search(r"[^aeiou]y$", lemma):
                return lemma[:-1] + "ied"
            return lemma + "ed"
        if form == "ing":
            if lemma.endswith("e") and not lemma.endswith("ee"):
                return lemma[:-1] + "ing"
            return lemma + "ing"
        if form in ("er", "est"):
            if len(lemma) > 7 or lemma.startswith(("un", "in")) and len(lemma) > 5:
                return None  # "more X" would be two words; the swap is not offered
            if lemma.endswith("e"):
                return lemma + form[1:]
            if re.search(r"[^aeiou]y$", lemma):
                return lemma[:-1] + "i" + form
            return lemma + form
        if form == "ly":
            if lemma.endswith("ly"):
                return None  # "ugly" is no adverb
            if lemma.endswith("le") and len(lemma) > 3:
                return lemma[:-1] + "y"
            if re.search(r"[^aeiou]y$", lemma):
                return lemma[:-1] + "ily"
            if lemma.endswith("ic"):
                return lemma + "ally"
            return lemma + "ly"
        return None

    def polar_words(self, pos: str, sign: int) -> list[str]:
        """Curated words of part of speech ``pos`` whose polarity has sign ``sign``."""
        words = set(self.curated.get(pos, {}))
        # ties broken by the word: a set's order depends on PYTHONHASHSEED
        return sorted(
            (w for w in words if (self.polarity.get(w, 0.0) > 0) == (sign > 0) and self.polarity.get(w, 0.0) != 0),
            key=lambda w: (-abs(self.polarity[w]), w),
        )


def _analyse(lex: Lexicon, word: str):
    seen: set[tuple[str, ...]] = set()
    if word.endswith("ly") and len(word) > 4:  # adverbs from adjectives
        stem = word[:-2]
        for lemma in (
            stem,
            stem[:-1] + "y" if stem.endswith("i") else None,
            stem + "le" if stem.endswith("ab") or stem.endswith("ib") else None,
            stem[:-2] if stem.endswith("ical") else None,
        ):
            if lemma and lex.has_pos(lemma, "a") and ("r", word) not in seen:
                seen.add(("r", word))
                yield Analysis(lemma, "a", "ly")
                break
    for pos in ("a", "v", "n", "r"):
        if lex.has_pos(word, pos):
            yield Analysis(word, pos, "base")
        exc = lex.exceptions.get(pos, {}).get(word)
        if exc:
            form = {"a": "er" if word.endswith("er") or word in ("worse",) else "est", "n": "pl"}.get(pos)
            if pos == "v":
                form = "ing" if word.endswith("ing") else "s" if word.endswith("s") else "ed"
            if pos == "a" and word in ("better", "worse", "more", "less"):
                form = "er"
            if pos == "a" and word in ("best", "worst", "most", "least"):
                form = "est"
            yield Analysis(exc, pos, form or "base")
        for suffix, repl, form in _DETACH[pos]:
            if word.endswith(suffix) and len(word) > len(suffix) + 1:
                lemma = word[: len(word) - len(suffix)] + repl
                if lex.has_pos(lemma, pos) and (pos, lemma, form) not in seen:
                    seen.add((pos, lemma, form))
                    yield Analysis(lemma, pos, form)
                # doubled consonant: "stopped" -> "stop"
                if form in ("ed", "ing", "er", "est") and not repl and len(lemma) > 2 and lemma[-1] == lemma[-2]:
                    if lex.has_pos(lemma[:-1], pos) and (pos, lemma[:-1], form) not in seen:
                        seen.add((pos, lemma[:-1], form))
                        yield Analysis(lemma[:-1], pos, form)


def _inverse_exceptions(lex: Lexicon) -> dict[tuple[str, str, str], str]:
    inverse: dict[tuple[str, str, str], str] = {}
    for pos, table in lex.exceptions.items():
        for inflected, lemma in sorted(table.items()):
            for a in _analyse(lex, inflected):
                if a.lemma == lemma and a.pos == pos and a.form != "base":
                    inverse.setdefault((pos, lemma, a.form), inflected)
    # irregulars the exception lists do not cover in the direction we need
    inverse.update(
        {
            ("a", "good", "er"): "better",
            ("a", "good", "est"): "best",
            ("a", "bad", "er"): "worse",
            ("a", "bad", "est"): "worst",
            ("a", "well", "ly"): "well",
            ("a", "good", "ly"): "well",
            ("a", "bad", "ly"): "badly",
            ("v", "fail", "ed"): "failed",
        }
    )
    return inverse


def find_wordnet(explicit: str | None = None) -> Path | None:
    """The WordNet dict directory: explicit, ``$WORDNET_DIR``, Debian's, or nltk_data's."""
    candidates = [explicit, os.environ.get("WORDNET_DIR"), *WORDNET_DIRS]
    nltk_data = os.environ.get("NLTK_DATA")
    if nltk_data:
        candidates += [str(Path(p) / "corpora" / "wordnet") for p in nltk_data.split(os.pathsep)]
    candidates.append(str(Path.home() / "nltk_data" / "corpora" / "wordnet"))
    for c in candidates:
        if c and (Path(c) / "data.adj").is_file():
            return Path(c)
    return None


def _package_file(package: str, *parts: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations)), *parts)
    return path if path.is_file() else None


@lru_cache(maxsize=4)
def _load_cached(wordnet_dir: str, sentiment: bool) -> Lexicon:
    lex = Lexicon()
    wn = find_wordnet(wordnet_dir or None)
    if wn is not None:
        _read_wordnet(lex, wn)
        lex.sources.append(f"wordnet:{wn}")
    _read_curated(lex)
    lex.sources.append("curated:sentiment_pairs.txt")
    if sentiment:
        _read_polarity(lex)
    return lex


def _read_curated(lex: Lexicon) -> None:
    for line in (RESOURCES / "sentiment_pairs.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        pos, a, b = line.split()
        for x, y in ((a, b), (b, a)):
            prev = lex.curated[pos].get(x)
            lex.curated[pos][x] = f"{prev}|{y}" if prev and y not in prev.split("|") else (prev or y)
            lex.pos_weight[x].setdefault(pos, 1)


def _read_polarity(lex: Lexicon) -> None:
    scores: dict[str, list[float]] = defaultdict(list)
    vader = _package_file("vaderSentiment", "vader_lexicon.txt")
    if vader is not None:
        for line in vader.read_text(encoding="utf-8", errors="replace").splitlines():
            parts = line.split("\t")
            if len(parts) >= 2 and re.fullmatch(r"[a-z][a-z'-]*", parts[0]):
                scores[parts[0]].append(float(parts[1]) / 4.0)
        lex.sources.append("vader")
    afinn = _package_file("afinn", "data", "AFINN-en-165.txt")
    if afinn is not None:
        for line in afinn.read_text(encoding="utf-8", errors="replace").splitlines():
            parts = line.split("\t")
            if len(parts) == 2 and re.fullmatch(r"[a-z][a-z'-]*", parts[0]):
                scores[parts[0]].append(float(parts[1]) / 5.0)
        lex.sources.append("afinn")
    for word, values in scores.items():
        lex.polarity[word] = max(-1.0, min(1.0, sum(values) / len(values)))
    # curated pairs carry polarity even where the lexicons are silent ("unfunny", "overlong")
    for _pos, table in lex.curated.items():
        for word, opposite in table.items():
            if word not in lex.polarity:
                opp = [lex.polarity[o] for o in opposite.split("|") if o in lex.polarity]
                if opp:
                    lex.polarity[word] = -sum(opp) / len(opp)


def _read_wordnet(lex: Lexicon, root: Path) -> None:
    for pos, name in WN_FILES.items():
        index = root / f"index.{name}"
        if index.is_file():
            for line in index.read_text(encoding="utf-8", errors="replace").splitlines():
                if line.startswith(" "):
                    continue
                parts = line.split()
                if len(parts) < 4:
                    continue
                lemma = parts[0]
                p_cnt = int(parts[3])
                tagged = int(parts[5 + p_cnt]) if len(parts) > 5 + p_cnt else 0
                lex.pos_weight[lemma][pos] = lex.pos_weight[lemma].get(pos, 0) + tagged + 1
        exc = root / f"{name}.exc"
        if exc.is_file():
            for line in exc.read_text(encoding="utf-8", errors="replace").splitlines():
                parts = line.split()
                if len(parts) >= 2:
                    lex.exceptions[pos].setdefault(parts[0], parts[1])
    # antonyms: direct lexical "!" pointers; adjective satellites inherit their head's antonyms
    synsets: dict[tuple[str, str], tuple[str, list[str], list[tuple[str, str, str, str]]]] = {}
    for pos, name in WN_FILES.items():
        data = root / f"data.{name}"
        if not data.is_file():
            continue
        for line in data.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith(" ") or (pos != "a" and " ! " not in line):
                continue
            parts = line.split(" | ")[0].split()
            offset, ss_type, w_cnt = parts[0], parts[2], int(parts[3], 16)
            words = [re.sub(r"\(.*\)$", "", parts[4 + 2 * i]).lower() for i in range(w_cnt)]
            i = 4 + 2 * w_cnt
            p_cnt = int(parts[i])
            ptrs = [(parts[k], parts[k + 1], parts[k + 2], parts[k + 3]) for k in range(i + 1, i + 1 + 4 * p_cnt, 4)]
            synsets[(pos, offset)] = (ss_type, words, ptrs)
    for (pos, _offset), (ss_type, words, ptrs) in synsets.items():
        for symbol, target, tpos, st in ptrs:
            tpos = "a" if tpos == "s" else tpos
            if symbol == "!" and (tpos, target) in synsets:
                src, dst = int(st[:2], 16), int(st[2:], 16)
                twords = synsets[(tpos, target)][1]
                if 0 < src <= len(words) and 0 < dst <= len(twords):
                    lex.antonyms[(words[src - 1], pos)][twords[dst - 1]] = 0.9
            elif symbol == "&" and ss_type == "s" and (tpos, target) in synsets:
                # satellite -> head: "superb" ~ "good", whose antonym is "bad"
                _, hwords, hptrs = synsets[(tpos, target)]
                for hs, ht, _htpos, hst in hptrs:
                    if hs == "!" and ("a", ht) in synsets:
                        dst = int(hst[2:], 16)
                        awords = synsets[("a", ht)][1]
                        if 0 < dst <= len(awords):
                            for w in words:
                                lex.antonyms[(w, "a")].setdefault(awords[dst - 1], 0.5)
