"""Prompts for scoring a causal LM as a classifier: the verbalizer config and the prompt tokenizer.

``PromptTokenizer`` turns raw texts into prompts (few-shot demonstrations, optional chat
template) and left-pads them, so the label word's next-token distribution is always at
position -1 (see :mod:`codistill.models.verbalizer`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from pydantic import Field, field_validator

from codistill.config import ConfigBase
from codistill.errors import ConfigError

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


class Demonstration(ConfigBase):
    text: str
    label: int


class VerbalizerConfig(ConfigBase):
    """How a causal LM is prompted and scored. ``{text}`` in ``template`` is replaced by the input."""

    template: str = Field(
        "Review: {text}\nSentiment:", description="prompt; the label word is scored as its continuation"
    )
    label_words: list[list[str]] | None = Field(
        None, description="per label, one or more words (default: the task's label names)"
    )
    num_demonstrations: int = Field(
        0, ge=0, description="few-shot examples drawn (class-stratified, seeded) from the training pool"
    )
    demonstration_seed: int = 0
    demonstrations: list[Demonstration] = Field(
        default_factory=list,
        description="explicit demonstrations (filled in from the pool when num_demonstrations > 0)",
    )
    separator: str = Field("\n\n", description="between demonstrations and the query")
    chat: bool = Field(False, description="wrap the prompt in the tokenizer's chat template (instruct models)")
    system_prompt: str | None = None

    @field_validator("template")
    @classmethod
    def _has_text(cls, template: str) -> str:
        if "{text}" not in template:
            raise ValueError("template must contain {text}")
        return template

    @field_validator("label_words", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        # `label_words: [terrible, great]` means one word per label
        if isinstance(value, list):
            return [[w] if isinstance(w, str) else w for w in value]
        return value

    def words(self, label_names: Sequence[str]) -> list[list[str]]:
        words = self.label_words or [[name] for name in label_names]
        if len(words) != len(label_names):
            raise ConfigError(f"verbalizer: {len(words)} label word lists for {len(label_names)} labels")
        if any(not w for w in words):
            raise ConfigError("verbalizer: every label needs at least one word")
        return words


class PromptTokenizer:
    """Formats texts into prompts, then tokenises them with the LM's tokenizer (left padding).

    ``max_length`` limits the *text's* tokens, never the prompt (cutting the prompt would cut off
    the part the label word follows). With ``return_offsets_mapping`` the offsets are relative to
    the text, and prompt tokens get (0, 0) like special tokens, so word-level saliency works.
    """

    def __init__(
        self, tokenizer: PreTrainedTokenizerBase, config: VerbalizerConfig, label_words: list[list[str]]
    ) -> None:
        self.base = tokenizer
        self.config = config
        self.label_words = label_words
        self.padding_side = "left"
        shots = [self._fill(d.text) + " " + label_words[d.label][0] for d in config.demonstrations]
        self.prefix = "".join(s + config.separator for s in shots)

    def __getattr__(self, name: str) -> Any:
        # pad_token_id, eos_token, save_pretrained, decode, ...: the wrapped tokenizer's
        return getattr(self.base, name)

    def __len__(self) -> int:
        return len(self.base)

    def _fill(self, text: str) -> str:
        return self.config.template.replace("{text}", text)

    def prompt(self, text: str) -> tuple[str, int]:
        """The full prompt and the character offset of ``text`` inside it."""
        marker = "\x00codistill-text\x00"
        body = self.prefix + self._fill(marker)
        if self.config.chat:
            messages = [{"role": "user", "content": body}]
            if self.config.system_prompt:
                messages.insert(0, {"role": "system", "content": self.config.system_prompt})
            body = cast(str, self.base.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))
        start = body.index(marker)
        return body.replace(marker, text, 1), start

    def truncate(self, text: str, max_tokens: int | None) -> str:
        if not max_tokens:
            return text
        enc = self.base(text, add_special_tokens=False, return_offsets_mapping=True)
        if len(enc["input_ids"]) <= max_tokens:
            return text
        return text[: enc["offset_mapping"][max_tokens - 1][1]]

    def __call__(
        self,
        texts: str | Sequence[str],
        *,
        truncation: bool = False,
        max_length: int | None = None,
        padding: bool | str = False,
        return_tensors: str | None = None,
        return_offsets_mapping: bool = False,
        **kwargs: Any,
    ):
        single = isinstance(texts, str)
        texts = [texts] if isinstance(texts, str) else list(texts)
        texts = [self.truncate(t, max_length if truncation else None) for t in texts]
        prompts, starts = zip(*(self.prompt(t) for t in texts)) if texts else ((), ())
        side = self.base.padding_side
        self.base.padding_side = "left"
        try:
            enc = self.base(
                list(prompts),
                padding=padding,
                truncation=False,
                return_tensors=return_tensors,
                add_special_tokens=not self.config.chat,
                return_offsets_mapping=return_offsets_mapping,
                **kwargs,
            )
        finally:
            self.base.padding_side = side
        if return_offsets_mapping:
            enc["offset_mapping"] = _shift_offsets(enc["offset_mapping"], starts, [len(t) for t in texts])
        if single and return_tensors is None:
            return type(enc)({k: v[0] for k, v in enc.items()})
        return enc

    def label_token_ids(self) -> list[list[int]]:
        """Per label, the first token of each word as it follows the prompt (a leading space after
        a plain prompt; none at the start of a chat assistant turn)."""
        space = "" if self.config.chat else " "
        ids = []
        for words in self.label_words:
            row = []
            for word in words:
                tokens = self.base(space + word, add_special_tokens=False)["input_ids"]
                if not tokens:
                    raise ConfigError(f"verbalizer: label word {word!r} encodes to no tokens")
                row.append(tokens[0])
            ids.append(sorted(set(row)))
        flat = [t for row in ids for t in row]
        if len(flat) != len(set(flat)):
            raise ConfigError(f"verbalizer: label words {self.label_words} share a first token; choose distinct words")
        return ids


def _shift_offsets(offsets: Any, starts: Sequence[int], lengths: Sequence[int]) -> Any:
    import torch

    as_tensor = isinstance(offsets, torch.Tensor)
    rows = offsets.tolist() if as_tensor else offsets
    out = []
    for row, start, n in zip(rows, starts, lengths):
        new = []
        for a, b in row:
            if b > a and b > start and a < start + n:
                # clip: a byte-level token may carry the space before the text
                new.append((max(a, start) - start, min(b, start + n) - start))
            else:
                new.append((0, 0))  # prompt, template or padding: not part of the text
        out.append(new)
    return torch.tensor(out, dtype=torch.long) if as_tensor else out
