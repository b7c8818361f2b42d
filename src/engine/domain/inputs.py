"""Limits on what a user gives a run (its task, its priority, steering messages),
checked before anything is written: refused with one line naming the limit."""

from __future__ import annotations

from engine.domain.errors import BadInput

#: The longest task or steering message, in UTF-8 bytes: a prompt, not a document (a
#: document belongs in the repo, where the agent can read it).
TEXT_LIMIT = 65_536
#: Priorities are stored as SQLite integers (64-bit).
PRIORITY_MIN, PRIORITY_MAX = -(2**63), 2**63 - 1


def check_text(what: str, text: str, limit: int = TEXT_LIMIT) -> None:
    """Refuse ``text`` (the ``what``, e.g. "task") when it is not valid UTF-8 (bytes that
    did not decode, as Python keeps them from ``argv``) or longer than ``limit`` bytes."""
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        code = ord(text[exc.start])
        # surrogateescape keeps an undecodable byte B as the lone surrogate U+DC00 + B.
        shown = f"byte 0x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"U+{code:04X}"
        raise BadInput(
            f"the {what} is not valid UTF-8 text ({shown} at character {exc.start + 1})"
        ) from None
    if size > limit:
        raise BadInput(f"the {what} is {size:,} bytes; the limit is {limit:,}")


def check_priority(priority: int) -> None:
    """Refuse a priority the run store cannot hold."""
    if not PRIORITY_MIN <= priority <= PRIORITY_MAX:
        raise BadInput(f"priority {priority} is out of range ({PRIORITY_MIN} to {PRIORITY_MAX})")
