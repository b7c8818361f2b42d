"""Redaction: values that look like API keys and tokens, and the values of the key
variables a workspace names, are replaced before anything is persisted or logged."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

MASK = "[redacted]"
_GITHUB = re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b")
#: Shapes of credentials agents print, read or write (provider prefixes, then generic),
#: each after a lowercase literal that any match of it contains: a shape's regex runs
#: only on text holding its literal. (Each regex starts with ``\b``, which keeps the
#: regex engine from skipping ahead to its literal: eleven full scans of every string
#: cost ~75 us per 240 characters, on every event persisted.)
SHAPES: list[tuple[str, re.Pattern[str]]] = [
    (
        "private key-----",
        re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"),
    ),
    ("sk-ant-", re.compile(r"\bsk-ant-[A-Za-z0-9_\-]{16,}")),
    ("sk-", re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_\-]{20,}")),
    ("akia", re.compile(r"\bAKIA[0-9A-Z]{16}\b")),
    ("asia", re.compile(r"\bASIA[0-9A-Z]{16}\b")),
    *((f"gh{kind}_", _GITHUB) for kind in "pousr"),
    ("github_pat_", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{30,}\b")),
    ("glpat-", re.compile(r"\bglpat-[A-Za-z0-9_\-]{20,}\b")),
    ("xox", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b")),
    ("aiza", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b")),
    ("npm_", re.compile(r"\bnpm_[A-Za-z0-9]{30,}\b")),
    ("bearer ", re.compile(r"(?i)(?<=bearer )[A-Za-z0-9._~+/\-]{20,}=*")),
]
PATTERNS = list(dict.fromkeys(pattern for _, pattern in SHAPES))
#: Variables holding keys whatever the workspace says.
KEY_VARIABLES = ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY")
#: Shorter values are not masked: they would mask ordinary words.
MIN_VALUE = 8


class Redactor:
    """Masks credential-shaped strings and the given secret values."""

    def __init__(self, values: Iterable[str | None] = ()) -> None:
        # Longest first: a value containing another is masked whole.
        self.values = sorted(
            {v for v in values if v and len(v) >= MIN_VALUE}, key=len, reverse=True
        )

    def text(self, text: str) -> str:
        """``text`` with every secret masked."""
        for value in self.values:
            if value in text:
                text = text.replace(value, MASK)
        # The literals are looked for in the text as it came: a mask put in by one
        # shape holds none of them, so it cannot make another shape match.
        lowered = text.lower()
        for literal, pattern in SHAPES:
            if literal in lowered:
                text = pattern.sub(MASK, text)
        return text

    def value(self, data: Any) -> Any:
        """``data`` (strings, lists, dicts, nested) with every string masked."""
        return masked_value(self.text, data)


def masked_value(mask: Callable[[str], str], data: Any) -> Any:
    """``data`` (strings, lists, dicts, nested) with every string passed through ``mask``
    (a :class:`Redactor`'s ``text``, or a client's ``redact``)."""
    if isinstance(data, str):
        return mask(data)
    if isinstance(data, list):
        return [masked_value(mask, item) for item in data]
    if isinstance(data, dict):
        return {key: masked_value(mask, item) for key, item in data.items()}
    return data


class RedactingFilter(logging.Filter):
    """A logging filter masking secrets in every record's message (logs are files):
    with a :class:`Redactor`, or any function masking a text (a client's ``redact``)."""

    def __init__(self, redactor: Redactor | Callable[[str], str]) -> None:
        super().__init__()
        self.mask = redactor.text if isinstance(redactor, Redactor) else redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.mask(record.getMessage())
        record.args = None
        return True
