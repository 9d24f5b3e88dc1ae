"""Split long documents into overlapping windows without losing or silently cutting text."""

from __future__ import annotations

__all__ = ["CHARS_PER_TOKEN", "estimate_tokens", "split_windows"]

CHARS_PER_TOKEN = 4
"""The declared rule for budgets: about four characters per token (English prose, BPE models)."""


def estimate_tokens(text: str) -> int:
    """Estimate a text's token count by the declared rule (``len / 4``, rounded up)."""
    return -(-len(text) // CHARS_PER_TOKEN)


def split_windows(text: str, max_chars: int, overlap_chars: int = 0) -> list[tuple[int, int]]:
    """Cover ``text`` with windows of at most ``max_chars``, overlapping by ``overlap_chars``.

    Window ends prefer a sentence or line break, then a space, so claims are rarely cut in
    half; every character of ``text`` lies in at least one window.

    Args:
        text: The document.
        max_chars: The largest window, in characters (at least 1).
        overlap_chars: How many characters consecutive windows share.

    Returns:
        ``(start, end)`` offsets of each window, in order.
    """
    if max_chars < 1:
        raise ValueError("max_chars must be at least 1")
    overlap_chars = max(0, min(overlap_chars, max_chars // 2))
    n = len(text)
    if n <= max_chars:
        return [(0, n)]
    windows: list[tuple[int, int]] = []
    start = 0
    while start < n:
        end = min(n, start + max_chars)
        if end < n:
            floor = start + max_chars // 2
            cut = max(text.rfind(". ", floor, end), text.rfind("\n", floor, end))
            if cut == -1:
                cut = text.rfind(" ", floor, end)
            if cut != -1:
                end = cut + 1
        windows.append((start, end))
        if end >= n:
            break
        start = max(end - overlap_chars, start + 1)
    return windows
