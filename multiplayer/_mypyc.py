"""What the modules compiled with mypyc need, as no-ops when they run interpreted.

The package installs as plain Python when it cannot be compiled (see ``setup.py``),
so nothing here needs mypy at run time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

__all__ = ["chained", "mypyc_attr"]

_E = TypeVar("_E", bound=BaseException)

if TYPE_CHECKING:
    from mypy_extensions import mypyc_attr
else:

    def mypyc_attr(*attrs, **kwattrs):
        """mypyc reads the decorator from the source; at run time it does nothing."""
        return lambda cls: cls


def chained(error: _E, cause: BaseException | None) -> _E:
    """``error``, with ``cause`` as its ``__cause__`` (which also hides the context).

    Compiled code drops the ``from`` of ``raise error from cause``: write
    ``raise chained(error, cause) from cause``, which is the same when interpreted.
    """
    error.__cause__ = cause
    return error
