"""Load classifiers and tokenizers from a packaged name, a local directory or a hub id."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codistill.errors import AssetError
from codistill.models.registry import PACKAGED_MODELS

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


@dataclass(frozen=True)
class ModelRef:
    """Where a model's files are: ``path`` is a local directory or a hub id; ``gguf_file`` is set
    for GGUF checkpoints (transformers de-quantises them on load)."""

    name: str
    path: str
    kind: str  # "packaged", "local" or "hub"
    gguf_file: str | None = None

    def pretrained_kwargs(self) -> dict[str, Any]:
        return {"gguf_file": self.gguf_file} if self.gguf_file else {}


def resolve_model(name_or_path: str | os.PathLike) -> ModelRef:
    name = str(name_or_path)
    if name in PACKAGED_MODELS:
        packaged = PACKAGED_MODELS[name]
        location = packaged.locate()
        if packaged.gguf:
            return ModelRef(name, str(location.parent), "packaged", gguf_file=location.name)
        return ModelRef(name, str(location), "packaged")
    path = Path(name).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return ModelRef(name, str(path.parent), "local", gguf_file=path.name)
    if path.is_dir():
        if not (path / "config.json").is_file() and not any(path.glob("*.gguf")):
            raise AssetError(f"{path} is not a model directory (no config.json)")
        return ModelRef(name, str(path), "local")
    if path.exists() or looks_local(name):
        raise AssetError(f"model path not found: {path}")
    check_hub_model(name)
    return ModelRef(name, name, "hub")


def looks_local(name: str) -> bool:
    """A name that is meant as a path (so a miss is a typo, not a hub id to download)."""
    first = name.split("/", 1)[0]
    return (
        name.startswith((".", "/", "~"))
        or name.count("/") > 1
        or "\\" in name
        or name.endswith((".gguf", ".safetensors", ".bin", ".json"))
        or ("/" in name and Path(first).is_dir())
    )


def hub_offline() -> bool:
    return any(
        os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on")
        for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


@lru_cache(maxsize=64)
def check_hub_model(name: str) -> None:
    """Fail at once, in one line, for a name that is neither packaged, local, in the Hugging Face
    cache nor (when online) on the hub, instead of a minute of download retries."""
    known = ", ".join(sorted(PACKAGED_MODELS))
    what = f"unknown model {name!r}: not a packaged model ({known}), not a local directory"
    try:
        from huggingface_hub import constants, try_to_load_from_cache
        from huggingface_hub.utils import HFValidationError
    except ImportError:  # pragma: no cover - transformers depends on huggingface_hub
        return
    try:
        if isinstance(try_to_load_from_cache(name, "config.json"), str):
            return
    except HFValidationError:
        raise AssetError(f"{what}, and not a valid Hugging Face hub id") from None
    if hub_offline() or getattr(constants, "HF_HUB_OFFLINE", False):
        raise AssetError(f"{what}, and not in the Hugging Face cache (offline: HF_HUB_OFFLINE is set)")
    import urllib.error
    import urllib.request

    try:
        urllib.request.urlopen(
            urllib.request.Request(f"{constants.ENDPOINT}/api/models/{name}", method="HEAD"), timeout=5
        ).close()
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 404):
            raise AssetError(f"{what}, and there is no such model on the Hugging Face hub") from None
    except (OSError, ValueError):
        raise AssetError(f"{what}, and the Hugging Face hub cannot be reached to look for it") from None


def _hub_error(ref: ModelRef, exc: Exception) -> AssetError:
    known = ", ".join(sorted(PACKAGED_MODELS))
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return AssetError(
        f"could not load {ref.name!r} ({first}); it is not a packaged model ({known}) or a local "
        "directory, and loading it from the Hugging Face hub failed"
    )


def damaged_weights(ref: ModelRef, exc: Exception) -> AssetError | None:
    """An :class:`AssetError` naming the files if ``exc`` says the weights cannot be read
    (a truncated or corrupt safetensors / bin file), else ``None``."""
    import pickle

    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if (
        type(exc).__name__ == "SafetensorError"
        or isinstance(exc, (EOFError, pickle.UnpicklingError))
        or "deserializ" in text.lower()
    ):
        return AssetError(
            f"{ref.path}: the model weights cannot be read ({text}); the file is truncated or damaged, "
            "save or copy it again"
        )
    return None


def check_label_count(ref: ModelRef, num_labels: int, role: str = "model") -> None:
    """A local classifier whose trained head has another number of labels than the task."""
    if ref.kind == "hub" or ref.gguf_file:
        return
    config_path = Path(ref.path) / "config.json"
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    trained_head = any(str(a).endswith("ForSequenceClassification") for a in config.get("architectures") or ())
    labels = len(config.get("id2label") or {}) or config.get("num_labels")
    if trained_head and labels and labels != num_labels:
        raise AssetError(
            f"{role} {ref.name} has {labels} labels, the task has {num_labels}; use a {role} trained for this task"
        )


def load_tokenizer(ref: ModelRef | str, *, trust_remote_code: bool = False) -> PreTrainedTokenizerBase:
    """The model's tokenizer, with a pad token guaranteed (decoder LMs often lack one)."""
    from transformers import AutoTokenizer

    ref = ref if isinstance(ref, ModelRef) else resolve_model(ref)
    try:
        tokenizer = AutoTokenizer.from_pretrained(
            ref.path, trust_remote_code=trust_remote_code, **ref.pretrained_kwargs()
        )
    except OSError as exc:
        raise _hub_error(ref, exc) from None
    ensure_pad_token(tokenizer)
    return tokenizer


def ensure_pad_token(tokenizer: PreTrainedTokenizerBase) -> None:
    if tokenizer.pad_token is None:
        fallback = tokenizer.eos_token or tokenizer.unk_token
        if fallback is None:
            raise AssetError("the tokenizer has no pad, eos or unk token to pad with")
        tokenizer.pad_token = fallback


def load_classifier(
    ref: ModelRef | str,
    *,
    num_labels: int = 2,
    label_names: tuple[str, ...] | None = None,
    tokenizer: PreTrainedTokenizerBase | None = None,
    trust_remote_code: bool = False,
    dtype: Any = None,
    role: str = "model",
) -> PreTrainedModel:
    """``AutoModelForSequenceClassification`` with ``num_labels`` outputs.

    A checkpoint without a classification head (e.g. a sentence encoder) gets a freshly
    initialised one; seed before calling for a reproducible head. For decoder LMs the pad token
    id is copied from the tokenizer so last-token pooling finds the end of each sequence.
    """
    from transformers import AutoModelForSequenceClassification
    from transformers.utils import logging as hf_logging

    ref = ref if isinstance(ref, ModelRef) else resolve_model(ref)
    check_label_count(ref, num_labels, role)
    kwargs: dict[str, Any] = {
        "num_labels": num_labels,
        "trust_remote_code": trust_remote_code,
        **ref.pretrained_kwargs(),
    }
    if label_names:
        kwargs["id2label"] = dict(enumerate(label_names))
        kwargs["label2id"] = {n: i for i, n in enumerate(label_names)}
    if dtype is not None:
        kwargs["dtype"] = dtype
    # the "newly initialized weights" notice is expected for a new head; we report it ourselves
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        model = AutoModelForSequenceClassification.from_pretrained(ref.path, **kwargs)
    except OSError as exc:
        raise _hub_error(ref, exc) from None
    except ValueError as exc:
        raise AssetError(f"{ref.name!r} cannot be loaded as a sequence classifier: {exc}") from None
    except Exception as exc:
        if (error := damaged_weights(ref, exc)) is not None:
            raise error from None
        raise
    finally:
        hf_logging.set_verbosity(verbosity)
    if tokenizer is not None and model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    return model


def hub_revision(repo_id: str) -> str | None:
    """The commit a hub id resolves to: the local hub cache's snapshot (offline), else the hub's
    answer; None when neither is available."""
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id, local_files_only=True, allow_patterns=["config.json"])).name
    except Exception:  # noqa: BLE001 - not cached (or no hub library): ask the hub
        pass
    try:
        from huggingface_hub import HfApi

        return HfApi().model_info(repo_id).sha
    except Exception:  # noqa: BLE001 - offline or unknown id
        return None


def model_fingerprint(ref: ModelRef | str) -> str:
    """Content hash of a model's config and weights (hub ids: the id and the commit it resolves
    to, so a new upload of the same id is a new fingerprint), used as a cache key."""
    ref = ref if isinstance(ref, ModelRef) else resolve_model(ref)
    if ref.kind == "hub":
        return hashlib.sha256(f"hub:{ref.path}@{hub_revision(ref.path) or 'unresolved'}".encode()).hexdigest()[:16]
    root = Path(ref.path)
    files = (
        [root / ref.gguf_file]
        if ref.gguf_file
        else sorted(
            p for p in root.iterdir() if p.suffix in (".json", ".safetensors", ".bin", ".txt", ".model") and p.is_file()
        )
    )
    return _hash_files(tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files))


@lru_cache(maxsize=64)
def _hash_files(files: tuple[tuple[str, int, int], ...]) -> str:
    h = hashlib.sha256()
    for path, size, _mtime in files:
        h.update(Path(path).name.encode())
        h.update(str(size).encode())
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 22), b""):
                h.update(chunk)
    return h.hexdigest()[:16]


def load_scorer(
    name_or_path: str | os.PathLike,
    *,
    num_labels: int = 2,
    label_names: tuple[str, ...] | None = None,
    trust_remote_code: bool = False,
    role: str = "model",
) -> tuple[Any, Any, str]:
    """Any teacher as "texts -> logits over labels": ``(model, tokenizer, fingerprint)``.

    Accepts a sequence-classifier directory / packaged name / hub id, a pooled student's SetFit
    directory (:mod:`codistill.models.pooled`), a LoRA adapter directory
    saved by codistill (the adapter is merged into its base), or a verbalizer teacher directory
    (a causal LM scored through label words). The returned model maps ``tokenizer(texts)`` to
    ``.logits`` of shape (B, num_labels) in every case.
    """
    from codistill.models.lora import adapter_base, load_adapter
    from codistill.models.setfit_model import is_setfit_dir, load_setfit
    from codistill.models.verbalizer import load_verbalizer, read_verbalizer_spec

    path = Path(str(name_or_path)).expanduser()
    from codistill.models.pooled import is_pooled_directory, load_pooled

    if path.is_dir() and is_pooled_directory(
        path
    ):  # a pooled student saved by codistill (a SetFit directory with its head in safetensors)
        pooled, tokenizer = load_pooled(path, num_labels)
        return pooled, tokenizer, model_fingerprint(resolve_model(str(path)))
    if is_setfit_dir(path):  # a SetFit model (sentence encoder + head): its head's logits
        return load_setfit(path)
    if path.is_dir() and (spec := read_verbalizer_spec(path)) is not None:
        verbalizer, tokenizer = load_verbalizer(path)
        return verbalizer, tokenizer, directory_fingerprint(path, spec["base"])
    if path.is_dir() and (base := adapter_base(path)) is not None:
        tokenizer = load_tokenizer(base, trust_remote_code=trust_remote_code)
        model = load_classifier(
            base,
            num_labels=num_labels,
            label_names=label_names,
            tokenizer=tokenizer,
            trust_remote_code=trust_remote_code,
        )
        return load_adapter(model, path, merge=True), tokenizer, directory_fingerprint(path, base)
    ref = resolve_model(name_or_path)
    check_label_count(ref, num_labels, role)
    tokenizer = load_tokenizer(ref, trust_remote_code=trust_remote_code)
    model = load_classifier(
        ref,
        num_labels=num_labels,
        label_names=label_names,
        tokenizer=tokenizer,
        trust_remote_code=trust_remote_code,
        role=role,
    )
    return model, tokenizer, model_fingerprint(ref)


def scorer_fingerprint(name_or_path: str | os.PathLike) -> str:
    """The fingerprint :func:`load_scorer` reports, without loading the model."""
    from codistill.models.lora import adapter_base
    from codistill.models.setfit_model import is_setfit_dir, setfit_fingerprint
    from codistill.models.verbalizer import read_verbalizer_spec

    path = Path(str(name_or_path)).expanduser()
    if is_setfit_dir(path):
        return setfit_fingerprint(path)
    if path.is_dir() and (spec := read_verbalizer_spec(path)) is not None:
        return directory_fingerprint(path, spec["base"])
    if path.is_dir() and (base := adapter_base(path)) is not None:
        return directory_fingerprint(path, base)
    return model_fingerprint(resolve_model(name_or_path))


def directory_fingerprint(path: Path, base: str) -> str:
    """Hash of a teacher directory that refers to a base model: its own json/safetensors files
    (spec, adapter) plus the base model's fingerprint ("." = the directory holds the weights)."""
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in (".json", ".safetensors", ".bin"))
    own = _hash_files(tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files))
    base_hash = "self" if base == "." else model_fingerprint(base)
    return hashlib.sha256(f"{own}:{base_hash}".encode()).hexdigest()[:16]


def describe_model(model: PreTrainedModel) -> dict[str, Any]:
    config = model.config
    return {
        "model_type": config.model_type,
        "num_layers": getattr(config, "num_hidden_layers", None),
        "hidden_size": getattr(config, "hidden_size", None),
        "parameters": sum(p.numel() for p in model.parameters()),
    }


def quiet_transformers() -> None:
    """Keep transformers' info/warning chatter out of CLI output."""
    logging.getLogger("transformers").setLevel(logging.ERROR)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
