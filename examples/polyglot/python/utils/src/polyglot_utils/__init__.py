"""Small pure-Python helpers used alongside polyglot-core."""


def normalize(text: str) -> str:
    """Lower-cases text and collapses runs of whitespace."""
    return " ".join(text.lower().split())


__all__ = ["normalize"]
