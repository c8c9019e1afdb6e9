"""Free text from users: trimmed, bounded, and free of what PostgreSQL cannot store (NUL,
lone surrogates) or a page should not carry (control characters)."""

import re

CONTROL = "\\x00-\\x1f\\x7f-\\x9f"  # the Cc category, as a regex class body
_UNSAFE = re.compile(f"[{CONTROL}\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def has_unsafe(text: str) -> bool:
    """Control characters or lone surrogates (JSON may carry "\\ud800"; UTF-8 cannot)."""
    return _UNSAFE.search(text) is not None


def has_surrogate(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def non_blank_schema(max_length: int) -> dict[str, str]:
    """JSON Schema of a string that strip()s to 1..max_length characters with no control
    character: exactly what a field checked with has_unsafe after strip() accepts."""
    edge = f"[^\\s{CONTROL}]"
    return {
        "type": "string",
        "pattern": f"^\\s*{edge}(?:[^{CONTROL}]{{0,{max_length - 2}}}{edge})?\\s*$",
    }
