"""The teacher-signal cache: the frozen teacher's outputs, computed once per distinct text.

Logits (float32) and, when a recipe asks, hidden states of selected layers (float16, only the
real tokens of each text) are kept in memory and in an SQLite file under
``cache_home()/signals/<teacher fingerprint>/signals.sqlite``, keyed by (max_length, SHA-256 of
the text) and, for hidden states, the layer index. Every run, epoch, seed, k and recipe that
sees the same text under the same teacher reuses the stored values, so the teacher never runs
inside a training step.

Trade-off: hidden states dominate the size (a 30-token text at width 384 is 23 KB per layer in
float16), so only the layers a recipe maps are stored, and only for texts it trains on (never
for evaluation splits, which need logits only). float16 halves the size at a relative error of
~1e-3, far below the noise of a few-shot run; logits stay float32 because the KD targets and
agreement metrics are computed from them.

Under a multi-process launch the texts no process has yet are split across the processes (each
runs the teacher on its share), gathered once so every process holds all of them, and stored by
the main process alone; every process must then ask for the same texts in the same order, as
:func:`codistill.distill.distill` does.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from codistill.utils import distributed
from codistill.utils.locks import open_sqlite

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

_SCHEMA = """
CREATE TABLE IF NOT EXISTS logits (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS hidden (key TEXT NOT NULL, layer INTEGER NOT NULL, length INTEGER NOT NULL,
                                   value BLOB NOT NULL, PRIMARY KEY (key, layer));
"""


def text_key(text: str, max_length: int) -> str:
    return hashlib.sha256(f"{max_length}\x1f{text}".encode()).hexdigest()[:32]


class SignalStore:
    """Disk half of the cache (one SQLite file per teacher fingerprint; safe across processes)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = open_sqlite(path, _SCHEMA, timeout=60)

    def get_logits(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        out = {}
        with self._lock:
            for i in range(0, len(keys), 500):
                chunk = list(keys[i : i + 500])
                q = f"SELECT key, value FROM logits WHERE key IN ({','.join('?' * len(chunk))})"
                for key, blob in self._db.execute(q, chunk):
                    out[key] = np.frombuffer(blob, dtype=np.float32).copy()
        return out

    def get_hidden(self, keys: Sequence[str], layer: int, width: int) -> dict[str, np.ndarray]:
        out = {}
        with self._lock:
            for i in range(0, len(keys), 500):
                chunk = list(keys[i : i + 500])
                q = f"SELECT key, length, value FROM hidden WHERE layer = ? AND key IN ({','.join('?' * len(chunk))})"
                for key, length, blob in self._db.execute(q, [layer, *chunk]):
                    out[key] = np.frombuffer(blob, dtype=np.float16).reshape(length, width).copy()
        return out

    def put(self, logits: dict[str, np.ndarray], hidden: dict[tuple[str, int], np.ndarray]) -> None:
        with self._lock, self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO logits VALUES (?, ?)",
                [(k, v.astype(np.float32).tobytes()) for k, v in logits.items()],
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO hidden VALUES (?, ?, ?, ?)",
                [(k, layer, v.shape[0], v.astype(np.float16).tobytes()) for (k, layer), v in hidden.items()],
            )

    def close(self) -> None:
        self._db.close()


class TeacherSignals:
    """Cached outputs of a frozen teacher.

    ``cache_dir=None`` uses ``cache_home()/signals``; ``cache_dir=False`` keeps the cache in
    memory only. ``stats`` counts texts served from memory, disk and fresh teacher forwards.
    """

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        fingerprint: str,
        max_length: int,
        *,
        cache_dir: str | Path | None | bool = None,
        batch_size: int = 64,
    ) -> None:
        from codistill.utils.paths import cache_home

        self.model, self.tokenizer, self.fingerprint, self.max_length = model, tokenizer, fingerprint, max_length
        self.batch_size = batch_size
        self.model.eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.width = int(model.config.hidden_size)
        self.num_layers = int(model.config.num_hidden_layers)
        self.num_labels = int(cast(int, model.config.num_labels))  # transformers annotates int | None
        self._logits: dict[str, np.ndarray] = {}
        self._hidden: dict[tuple[str, int], np.ndarray] = {}
        # computed: texts the teacher ran on in any process; forwarded: in this process
        self.stats = {"memory": 0, "disk": 0, "computed": 0, "forwarded": 0}
        if cache_dir is False:
            self.store = None
        else:
            root = cache_home() / "signals" if cache_dir is None or cache_dir is True else Path(cache_dir)
            self.store = SignalStore(root / fingerprint / "signals.sqlite")

    # -- public ---------------------------------------------------------------------------
    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """Teacher logits (N, C), float32."""
        keys = self._ensure(texts, ())
        if not keys:
            return np.zeros((0, self.num_labels), dtype=np.float32)
        return np.stack([self._logits[k] for k in keys])

    def hidden(self, texts: Sequence[str], layers: Sequence[int]) -> list[np.ndarray]:
        """Per text, hidden states (len(layers), T_i, H) float16 of its real tokens; layer 0 is
        the embedding output, layer i the output of block i."""
        layers = list(layers)
        bad = [layer for layer in layers if not 0 <= layer <= self.num_layers]
        if bad:
            raise ValueError(f"teacher has hidden states 0..{self.num_layers}; asked for {bad}")
        keys = self._ensure(texts, layers)
        return [
            np.stack([self._hidden[(k, layer)] for layer in layers])
            if layers
            else np.zeros((0, 0, self.width), np.float16)
            for k in keys
        ]

    def predictions(self, texts: Sequence[str]) -> np.ndarray:
        return self.logits(texts).argmax(-1)

    # -- internals ------------------------------------------------------------------------
    def _ensure(self, texts: Sequence[str], layers: Sequence[int]) -> list[str]:
        keys = [text_key(t, self.max_length) for t in texts]
        wanted = dict(zip(keys, texts))  # distinct texts only

        def missing_in_memory(k: str) -> bool:
            return k not in self._logits or any((k, layer) not in self._hidden for layer in layers)

        todo = [k for k in wanted if missing_in_memory(k)]
        self.stats["memory"] += len(wanted) - len(todo)
        if todo and self.store is not None:
            for k, v in self.store.get_logits(todo).items():
                self._logits[k] = v
            for layer in layers:
                for k, v in self.store.get_hidden(todo, layer, self.width).items():
                    self._hidden[(k, layer)] = v
            still = [k for k in todo if missing_in_memory(k)]
            self.stats["disk"] += len(todo) - len(still)
            todo = still
        if distributed.world_size() > 1:
            todo = self._agree(todo, wanted)
        if todo:
            self._compute([wanted[k] for k in todo], todo, layers)
            self.stats["computed"] += len(todo)
        return keys

    @staticmethod
    def _agree(todo: list[str], wanted: dict[str, str]) -> list[str]:
        """The texts missing in any process (the same list, in the same order, everywhere)."""
        digests = distributed.all_gather(hashlib.sha256("\n".join(todo).encode()).hexdigest())
        if len(set(digests)) == 1:
            return todo
        merged: dict[str, str] = {}
        for part in distributed.all_gather([(k, wanted[k]) for k in todo]):
            merged.update(part)
        wanted.update(merged)
        return sorted(merged)

    def _compute(self, texts: list[str], keys: list[str], layers: Sequence[int]) -> None:
        import torch

        device = next(self.model.parameters()).device
        # length-sorted, then interleaved across processes: this process's share, similar lengths
        order = np.asarray(
            distributed.my_share(np.argsort([len(t) for t in texts], kind="stable").tolist()), dtype=np.int64
        )
        self.stats["forwarded"] += len(order)
        new_logits: dict[str, np.ndarray] = {}
        new_hidden: dict[tuple[str, int], np.ndarray] = {}
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                enc = self.tokenizer(
                    [texts[i] for i in idx],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                ).to(device)
                out = self.model(**enc, output_hidden_states=bool(layers))
                logits = out.logits.float().cpu().numpy()
                mask = enc["attention_mask"].bool().cpu()
                hs = [out.hidden_states[layer].float().cpu() for layer in layers]
                for row, i in enumerate(idx):
                    k = keys[i]
                    new_logits[k] = logits[row]
                    for layer, h in zip(layers, hs):
                        new_hidden[(k, layer)] = h[row][mask[row]].numpy().astype(np.float16)
        if distributed.world_size() > 1:  # gathered once: every process holds every text's signals
            for part_logits, part_hidden in distributed.all_gather((new_logits, new_hidden)):
                new_logits.update(part_logits)
                new_hidden.update(part_hidden)
        self._logits.update(new_logits)
        self._hidden.update(new_hidden)
        if self.store is not None and distributed.is_main():
            self.store.put(new_logits, new_hidden)

    def describe(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "max_length": self.max_length,
            "store": str(self.store.path) if self.store else None,
            **self.stats,
        }
