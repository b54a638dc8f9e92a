"""Python bindings for polyglot-core."""

from ._native import stats

__all__ = ["stats"]
