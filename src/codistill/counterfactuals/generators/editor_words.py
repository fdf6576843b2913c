"""Word lists and small helpers of the offline editor (transformations and constraints)."""

from __future__ import annotations

import re

NEG = {"not", "n't", "never"}
AUX_NOT = {"is", "are", "was", "were", "am", "'re", "'m", "do", "does", "did", "can", "could", "will", "would",
           "should", "might", "must", "may", "has", "have", "had", "be"}
PRON_S = {"it", "that", "he", "she", "there", "what", "here", "this", "who", "which", "everything", "nothing", "one"}
CONTRACTED = {"isn't": "is", "aren't": "are", "wasn't": "was", "weren't": "were", "doesn't": "does", "don't": "do",
              "didn't": "did", "can't": "can", "cannot": "can", "won't": "will", "wouldn't": "would", "couldn't": "could",
              "shouldn't": "should", "hasn't": "has", "haven't": "have", "hadn't": "had", "ain't": "is", "mustn't": "must"}
SPLIT_HEAD = {"ca": "can", "wo": "will", "ai": "is"}  # SST-2 "ca n't", "wo n't", "ai n't"
NEGATOR_SWAPS = {"nothing": ("something",), "nobody": ("somebody",), "nowhere": ("somewhere",), "without": ("with",),
                 "lacks": ("has",), "lack": ("have",), "lacked": ("had",), "lacking": ("having",), "never": ("always", ""),
                 "no": ("",), "hardly": ("",), "barely": ("",), "neither": ("either",), "nor": ("or",), "none": ("all",)}
SUBJECTS = {"it", "he", "she", "they", "we", "i", "you", "who", "that", "which", "this", "one", "film", "movie", "story", "everything"}
DETERMINERS = {"a", "an", "the", "this", "that", "its", "his", "her", "their", "our", "my", "your", "these", "those", "some", "every"}
INTENSIFIERS = {"very", "really", "extremely", "truly", "quite", "so", "highly", "incredibly", "genuinely", "thoroughly",
                "remarkably", "absolutely", "deeply", "utterly", "totally", "especially", "particularly", "wonderfully", "too"}
AGREEMENT = {"is": "are", "are": "is", "was": "were", "were": "was", "has": "have", "have": "has", "does": "do", "do": "does",
             "this": "these", "these": "this", "that": "those", "those": "that", "a": "the", "an": "the", "him": "he", "he": "him",
             "her": "she", "she": "her", "they": "them", "them": "they", "who": "whom", "whom": "who", "itself": "it"}
FUNCTION_WORDS = {"the", "a", "an", "to", "of", "that", "is", "was", "be", "by", "for", "with", "in", "on", "at", "from",
                  "and", "it", "has", "have", "did", "does", "which", "who", "there", "as", "been"}
_ALPHA = re.compile(r"^[a-z][a-z'-]*$")
STOPWORDS = FUNCTION_WORDS | DETERMINERS | AUX_NOT | SUBJECTS | {
    "but", "or", "if", "so", "than", "then", "into", "about", "up", "out", "just", "all", "more", "most", "own", "such", "each", "every", "several", "many", "few", "any", "both", "either", "other", "another", "same", "much", "various",
    "what", "when", "where", "how", "why", "her", "his", "them", "him", "me", "us", "'s", "'re", "'m", "'ve", "'ll", "'d", "there"}
BOUNDARY = {"", ",", ";", ":", "--", "-", "(", "and", "but", "or", "yet", "while", "though", "although"}


def article_for(word: str) -> str:
    w = word.lower()
    if w.startswith(("hour", "honest", "honor", "honour", "heir")):
        return "an"
    if w.startswith(("uni", "use", "usu", "uti", "one", "eu", "ubi", "ufo", "uk")):
        return "a"
    return "an" if w[:1] in "aeiou" else "a"
