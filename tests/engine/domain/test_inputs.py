"""The limits on a task and a priority, counted as the store would hold them."""

from __future__ import annotations

import pytest

from engine.domain.errors import BadInput
from engine.domain.inputs import TEXT_LIMIT, check_priority, check_text


def test_the_limit_is_in_utf8_bytes_and_inclusive() -> None:
    check_text("task", "a" * TEXT_LIMIT)
    with pytest.raises(BadInput, match="the task is 65,537 bytes; the limit is 65,536"):
        check_text("task", "a" * (TEXT_LIMIT + 1))
    with pytest.raises(BadInput, match="the task is 65,538 bytes"):
        check_text("task", "é" * (TEXT_LIMIT // 2 + 1))  # two bytes each


def test_text_that_is_not_utf8_names_the_byte_and_where() -> None:
    undecoded = b"fix \xff bug".decode("utf-8", "surrogateescape")
    with pytest.raises(BadInput, match=r"not valid UTF-8 text \(byte 0xff at character 5\)"):
        check_text("steering message", undecoded)
    with pytest.raises(BadInput, match=r"U\+D800 at character 1"):
        check_text("task", "\ud800")


def test_a_priority_must_fit_a_64_bit_integer() -> None:
    check_priority(2**63 - 1)
    check_priority(-(2**63))
    with pytest.raises(BadInput, match="priority 9223372036854775808 is out of range"):
        check_priority(2**63)
