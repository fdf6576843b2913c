"""``CounterfactualConfig``: everything ``codistill counterfactuals`` needs, YAML-round-trippable."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from codistill.config import ConfigBase
from codistill.data import DataConfig


class OpenAIConfig(ConfigBase):
    """Any OpenAI-compatible chat endpoint (OpenAI, vLLM, Ollama, llama.cpp server)."""

    model: str = Field("gpt-4o", description="model name sent to the endpoint")
    base_url: str | None = Field(
        None, description="endpoint base URL (default: the client's, i.e. OpenAI; $OPENAI_BASE_URL is honoured)"
    )
    api_key_env: str = Field(
        "OPENAI_API_KEY", description="environment variable holding the key (never put keys in configs)"
    )
    temperature: float = Field(0.7, ge=0, le=2)
    max_tokens: int = Field(128, gt=0, description="cap on reply tokens (also bounds the budget reservation)")
    num_candidates: int = Field(1, ge=1, le=16, description="replies requested per input and attempt")
    concurrency: int = Field(8, ge=1, le=256, description="requests in flight at once")
    timeout_s: float = Field(60.0, gt=0, description="per-request timeout")
    max_retries: int = Field(
        4, ge=0, le=20, description="retries per request on 429, 5xx, timeouts and connection errors"
    )
    backoff_s: float = Field(
        1.0, ge=0, description="first retry delay; doubles each retry (with jitter), Retry-After wins"
    )
    max_backoff_s: float = Field(30.0, ge=0)
    price_input_per_mtok: float | None = Field(
        None, ge=0, description="USD per 1M prompt tokens (default: known models, else 0)"
    )
    price_output_per_mtok: float | None = Field(None, ge=0, description="USD per 1M completion tokens")
    seed: int | None = Field(None, description="sampling seed sent to the endpoint, where supported")

    @field_validator("api_key_env")
    @classmethod
    def _a_name_not_a_key(cls, value: str) -> str:
        from codistill.utils.secrets import looks_like_key

        # the message never repeats the value: it may be a real key
        if looks_like_key(value):
            raise ValueError(
                "this looks like an API key, not the name of an environment variable; put the key in "
                "$OPENAI_API_KEY (or another variable) and give its name here. Nothing was written"
            )
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            raise ValueError("must be the name of an environment variable (letters, digits and _), e.g. OPENAI_API_KEY")
        return value

    @field_validator("base_url")
    @classmethod
    def _an_http_url(cls, value: str | None) -> str | None:
        from urllib.parse import urlsplit

        # refused up front (else every call fails and the run ends with 0 counterfactuals); the
        # message never repeats the value: it may carry a password
        try:
            parts = urlsplit(value) if value is not None else None
            port_ok = parts is None or parts.port is None or parts.port > 0
        except ValueError:
            parts, port_ok = None, False
        if value is not None and (
            parts is None
            or parts.scheme not in ("http", "https")
            or not parts.hostname
            or not port_ok
            or any(c.isspace() for c in value)
        ):
            raise ValueError("must be an http(s) URL with a host, e.g. http://localhost:8000/v1")
        return value


class HFChatConfig(ConfigBase):
    """A local transformers chat model (including GGUF files)."""

    model: str = Field("smollm2-135m-instruct", description="packaged name, model directory or .gguf file")
    temperature: float = Field(0.7, ge=0, le=2)
    max_new_tokens: int = Field(64, gt=0)
    num_candidates: int = Field(2, ge=1, le=16)
    batch_size: int = Field(8, ge=1)
    seed: int = 0


class EditorConfig(ConfigBase):
    """The offline teacher-guided editor."""

    max_rounds: int = Field(8, ge=1, description="rounds of batched teacher checks per input")
    first_round: int = Field(6, ge=1, description="single edits checked in the first round (lexicon-ranked)")
    candidates_per_round: int = Field(8, ge=1, description="candidates checked per input in later rounds")
    max_edits: int = Field(3, ge=1, description="single edits combined at most")
    beam: int = Field(4, ge=2, description="best single edits (by teacher shift) combined in later rounds")
    saliency: bool = Field(True, description="re-rank words by the teacher's gradient saliency after round 1")
    fluency: Literal["ngram", "none"] = Field(
        "ngram", description="bigram LM fitted on the task pool filters ungrammatical edits"
    )
    min_bigram_slor: float = Field(
        -3.3, description="reject edits creating a bigram whose SLOR (log P(w|prev) - log P(w)) is below this"
    )
    fluency_prior: float = Field(
        0.1, ge=0, description="weight of fluency (mean SLOR of new bigrams) in the edit ranking"
    )
    fluency_weight: float = Field(0.03, ge=0, description="weight of fluency when choosing among flips of one size")
    saliency_weight: float = Field(
        0.8, ge=0, description="weight of the teacher's saliency of the edited word in the edit ranking"
    )
    salient_words: int = Field(
        3, ge=0, description="most salient content words that also get lexicon-independent edits"
    )
    max_antonyms: int = Field(3, ge=1)
    generic_swaps: int = Field(3, ge=0, description="most fluent generic opposite-polarity words tried per word")
    wordnet_dir: str | None = Field(
        None, description="WordNet dict directory (default: $WORDNET_DIR, Debian wordnet-base, nltk_data)"
    )
    chunk_size: int = Field(64, ge=1, description="inputs searched together (their candidates share teacher batches)")
    pos_consistent: bool = Field(
        True, description="one-word swaps keep a part of speech the replaced word can have (WordNet)"
    )
    lm: str | None = Field(
        None,
        description="causal LM choosing among verified flips by perplexity (e.g. smollm2-135m-instruct); None: off",
    )
    lm_weight: float = Field(
        0.5, ge=0, description="weight of log(ppl(counterfactual) / ppl(original)) in the choice (editor.lm)"
    )
    long_words: int = Field(
        40,
        ge=1,
        description="inputs with at least this many words get the long-text search (visible span, stacked edits)",
    )
    max_edit_fraction: float = Field(
        0.1, gt=0, le=1, description="long inputs: stacked edits change at most this fraction of the words"
    )
    extra_rounds: int = Field(
        8, ge=0, description="long inputs, and inputs that ran out of edits, get this many rounds after max_rounds"
    )
    salient_words_per_100: int = Field(
        4, ge=0, description="long inputs: more salient words get edits, this many per 100 words"
    )
    mined_texts: int = Field(
        2000,
        ge=0,
        description="tasks without a lexicon (not sentiment or acceptability): pool texts the "
        "teacher labels to mine the words it ties to each class (0: no mined edits)",
    )
    mined_words: int = Field(
        8, ge=1, description="words most tied to the target class tried as swaps (half as many as insertions)"
    )
    mined_positions: int = Field(
        4, ge=1, description="words most tied to the current class (or most salient) that get mined edits"
    )


class VerifyConfig(ConfigBase):
    """How generator candidates are scored. Every kept counterfactual is the exact teacher's verdict either way."""

    screen_dtype: Literal["none", "bf16"] = Field(
        "none",
        description="bf16: a bf16 copy of the teacher screens candidates and the exact teacher confirms each winning flip "
        "before it is kept (and re-scores near-boundary candidates); none: the exact teacher scores every candidate",
    )
    screen_margin: float = Field(
        0.1,
        ge=0,
        le=1,
        description="candidates whose screened p(original label) - p(best other) is "
        "at most this are re-scored exactly (a flip the screen misses there is rescued)",
    )
    screen_saliency: bool = Field(
        True,
        description="with screening, the editor's word saliency (search order only) comes from the "
        "screen too; false: from the exact teacher",
    )


def _registered_generator(name: str) -> str:
    from codistill.counterfactuals.generators.base import known_generators

    known = known_generators()
    if name not in known:
        raise ValueError(f"unknown generator {name!r}; known: {', '.join(known)}")
    return name


class CounterfactualConfig(ConfigBase):
    data: DataConfig = Field(default_factory=DataConfig)
    k: int = Field(16, description="k-shot budget; CoD generates for its k/2 originals")
    seed: int = Field(0, description="k-shot sampling seed")
    teacher: str = Field("", description="teacher model directory (its predictions label the counterfactuals)")
    generator: str = Field(
        "editor",
        description="a registered generator (counterfactuals.generators.register_generator): "
        "editor (offline), openai, hf-chat, or one a program registered",
    )
    selection: Literal["smallest", "nearest_boundary", "most_confident"] = Field(
        "smallest",
        description="which valid flip wins: smallest (fewest edited words), nearest_boundary (lowest teacher "
        "probability of the new label) or most_confident (highest)",
    )
    target: Literal["runner_up", "every_other", "named"] = Field(
        "runner_up",
        description="class a counterfactual must reach (tasks with more than two classes): runner_up = the teacher's "
        "second most likely class (with per_original m > 1 the m most likely other classes), every_other = any other class, "
        "named = target_class. Verified when the teacher's argmax on it is a target",
    )
    target_class: str | None = Field(None, description="label name of the target class for target=named")
    per_original: int = Field(
        1,
        ge=1,
        le=8,
        description="verified counterfactuals kept per original, diverse (other positions or words); "
        "m > 1 feeds distill's cod_mode=multi",
    )
    keep_unverified: bool = Field(
        False,
        description="also write, for each original without a verified flip, its best candidate (the teacher's probability "
        "of the other label highest) with meta.verified=false and the teacher's (unflipped) label; for studies of unchecked labels "
        "(distill counterfactual_labels=flipped_gold). Off: the file holds verified flips only",
    )
    max_attempts: int = Field(
        3, ge=1, description="LLM attempts per input (each retry is told what the teacher still predicts)"
    )
    max_budget_usd: float | None = Field(None, ge=0, description="stop cleanly before API spending would exceed this")
    teacher_batch_size: int = Field(64, ge=1)
    verify: VerifyConfig = Field(default_factory=VerifyConfig)
    teacher_max_length: int | None = Field(
        None, gt=0, description="tokens the teacher reads (None: the train.max_length it was trained with, else 128)"
    )
    cache_dir: str | None = Field(None, description="default: $CODISTILL_HOME/counterfactuals")
    use_cache: bool = True
    output_dir: str | None = Field(None, description="default: outputs/counterfactuals/<task>-k<k>-s<seed>-<generator>")
    progress: bool = True
    report_sample: int = Field(10, ge=0, description="pairs shown in the quality report")
    report_similarity: bool = Field(
        True, description="MiniLM semantic similarity in the report (needs the packaged minilm-l6)"
    )
    report_lm: str | None = Field(
        None, description="causal LM for report perplexity (e.g. smollm2-135m-instruct); default: the n-gram LM"
    )
    openai: OpenAIConfig = Field(default_factory=OpenAIConfig)
    hf_chat: HFChatConfig = Field(default_factory=HFChatConfig)
    editor: EditorConfig = Field(default_factory=EditorConfig)

    @model_validator(mode="after")
    def _named_needs_a_class(self) -> CounterfactualConfig:
        if self.target == "named" and not self.target_class:
            raise ValueError("target=named needs target_class (a label name)")
        return self

    @field_validator("generator")
    @classmethod
    def _known_generator(cls, name: str) -> str:
        return _registered_generator(name)
