"""Keep API keys out of everything codistill stores or prints.

:func:`redact` removes registered secrets (the key a generator read from the environment) and
anything shaped like a key, a bearer token, a password in a URL (``http://user:pw@host``) or a
key in a URL's query string (``?api_key=...``) from a string. It runs at two choke points: every
text file codistill writes (:func:`codistill.utils.io.atomic_write_text`, which every JSON, JSONL
and YAML writer uses; the cache and ledger redact their own rows) and the console
(:func:`output_redaction`, around every CLI command). :func:`carries_secret` lets a
generator refuse a reply that carries one (a server echoing the key), and :func:`looks_like_key`
catches a key pasted where a variable *name* belongs.
"""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

REDACTED = "[REDACTED]"
# the group named ``s`` is the secret; what precedes it (a label) is kept
_PATTERNS = [
    re.compile(r"(?P<s>\bsk-[A-Za-z0-9_\-]{8,})"),  # OpenAI-style keys (sk-..., sk-proj-...)
    # a bearer token has a digit or is long: "the bearer mentioned" is prose, not a token
    re.compile(r"(?i)\bbearer\s+(?P<s>(?=[A-Za-z._\-~+/=]*\d)[A-Za-z0-9._\-~+/=]{8,}|[A-Za-z0-9._\-~+/=]{20,})"),
    re.compile(r"(?i)\b(?:api[_-]?key|access[_-]?token|authorization)\W{1,4}(?P<s>[A-Za-z0-9._\-~+/=]{12,})"),
    re.compile(r"(?P<s>\b(?:hf_|ghp_|gho_|xox[bp]-|AKIA)[A-Za-z0-9_\-]{12,})"),
    # the password of a URL's user info: scheme://user:PASSWORD@host
    re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s/@:?#'\"]*:(?P<s>[^\s/@?#'\"]+)(?=@)"),
    # a query parameter named like a credential: ?api_key=..., &token=..., ;sig=...
    re.compile(
        r"(?i)[?&;][A-Za-z0-9_.\-]*(?:key|token|secret|pass|pwd|auth|sig|credential)[A-Za-z0-9_.\-]*=(?P<s>[^&#\s'\"]+)"
    ),
]
_KNOWN: set[str] = set()
_LOCK = threading.Lock()


def register_secret(value: str | None) -> None:
    """Redact this exact value wherever it appears from now on (ignored if short or empty)."""
    if value and len(value) >= 8:
        with _LOCK:
            _KNOWN.add(value)


def redact(text: Any) -> Any:
    """``text`` with secrets replaced by ``[REDACTED]``; non-strings are returned unchanged."""
    if not isinstance(text, str) or not text:
        return text
    with _LOCK:
        known = sorted(_KNOWN, key=len, reverse=True)
    for secret in known:
        text = text.replace(secret, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(0)[: m.start("s") - m.start(0)] + REDACTED, text)
    return text


def carries_secret(text: Any) -> bool:
    """Whether ``text`` holds a registered secret, anything shaped like one (see :func:`redact`)
    or the mark of one already redacted."""
    return isinstance(text, str) and (REDACTED in text or redact(text) != text)


def redact_obj(obj: Any) -> Any:
    """:func:`redact` applied to every string inside nested dicts and lists."""
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        return {k: redact_obj(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(redact_obj(v) for v in obj)
    return obj


def looks_like_key(value: str) -> bool:
    """True for a value shaped like a secret rather than an environment variable name."""
    value = value.strip()
    if any(p.search(value) for p in _PATTERNS):
        return True
    # long random-looking tokens: mixed case and digits, no spaces, far longer than a variable name
    return len(value) >= 24 and " " not in value and bool(re.search(r"\d", value)) and bool(re.search(r"[a-z]", value))


def install_log_redaction() -> None:
    """Redact every log record from now on (whatever library logs it), once per process."""
    import logging

    factory = logging.getLogRecordFactory()
    if getattr(factory, "_codistill_redacts", False):
        return

    def redacting(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is logging's problem, not ours
            return record
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return record

    redacting._codistill_redacts = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(redacting)


class RedactingStream:
    """A text stream that writes through :func:`redact` (wraps ``sys.stdout`` / ``sys.stderr``).

    It has no ``buffer``, so nothing (click's echo included) can write around it in bytes."""

    _codistill_redacts = True

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(redact(text))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        if name == "buffer":
            raise AttributeError(name)
        return getattr(self._stream, name)


@contextmanager
def output_redaction() -> Iterator[None]:
    """Everything written to ``sys.stdout`` and ``sys.stderr`` inside the block is redacted: the
    console's choke point (a pair listing, a progress line or a warning from any library)."""
    saved = sys.stdout, sys.stderr
    if sys.stdout is not None and not getattr(sys.stdout, "_codistill_redacts", False):
        sys.stdout = RedactingStream(sys.stdout)
    if sys.stderr is not None and not getattr(sys.stderr, "_codistill_redacts", False):
        sys.stderr = RedactingStream(sys.stderr)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
