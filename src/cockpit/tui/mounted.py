"""A guard for what runs in the background of a screen (timers, messages of the engine
session): it stops quietly once the app tears the screen down, instead of failing on a
widget that is already gone (``NoMatches``)."""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, cast

from textual.css.query import NoMatches

__all__ = ["while_mounted"]

F = TypeVar("F", bound=Callable[..., Any])


def while_mounted(method: F) -> F:
    """``method``, returning None instead of raising ``NoMatches`` (sync or async)."""
    if inspect.iscoroutinefunction(method):

        @functools.wraps(method)
        async def guarded_async(*args: Any, **kwargs: Any) -> Any:
            with contextlib.suppress(NoMatches):
                return await method(*args, **kwargs)
            return None

        return cast(F, guarded_async)

    @functools.wraps(method)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        with contextlib.suppress(NoMatches):
            return method(*args, **kwargs)
        return None

    return cast(F, guarded)
