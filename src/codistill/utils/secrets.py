"""Keep API keys out of everything codistill stores or prints.

:func:`redact` removes registered secrets (the key a generator read from the environment) and
anything shaped like a key or a bearer token from a string; every stored error, ledger entry,
report and CLI message goes through it. :func:`looks_like_key` catches a key pasted where a
variable *name* belongs.
"""

from __future__ import annotations

import re
import threading
from typing import Any

REDACTED = "[REDACTED]"
# the group named ``s`` is the secret; what precedes it (a label) is kept
_PATTERNS = [
    re.compile(r"(?P<s>\bsk-[A-Za-z0-9_\-]{8,})"),  # OpenAI-style keys (sk-..., sk-proj-...)
    re.compile(r"(?i)\bbearer\s+(?P<s>[A-Za-z0-9._\-~+/=]{8,})"),
    re.compile(r"(?i)\b(?:api[_-]?key|access[_-]?token|authorization)\W{1,4}(?P<s>[A-Za-z0-9._\-~+/=]{12,})"),
    re.compile(r"(?P<s>\b(?:hf_|ghp_|gho_|xox[bp]-|AKIA)[A-Za-z0-9_\-]{12,})"),
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
