"""Splitting long documents into windows: full coverage, size bounds, sentence-friendly cuts."""

from __future__ import annotations

import itertools
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hallujudge._chunking import CHARS_PER_TOKEN, estimate_tokens, split_windows


def test_estimate_tokens_rounds_up() -> None:
    assert CHARS_PER_TOKEN == 4
    assert estimate_tokens("") == 0
    assert estimate_tokens("a") == 1
    assert estimate_tokens("abcd") == 1
    assert estimate_tokens("abcde") == 2
    assert estimate_tokens("x" * 4000) == 1000


def test_short_text_is_one_window() -> None:
    assert split_windows("Short.", 100) == [(0, 6)]
    assert split_windows("", 10) == [(0, 0)]
    assert split_windows("x" * 10, 10) == [(0, 10)]


def test_bad_window_size() -> None:
    with pytest.raises(ValueError, match="max_chars"):
        split_windows("text", 0)


def test_cuts_prefer_sentence_ends() -> None:
    sentences = [f"Sentence number {i} says something short." for i in range(30)]
    text = " ".join(sentences)
    windows = split_windows(text, 200, overlap_chars=0)
    assert len(windows) > 1
    for _start, end in windows[:-1]:
        assert text[end - 1 : end + 1] == ". "  # cut right after a full stop, not mid-sentence
    # no sentence is cut: each appears whole in some window
    for sentence in sentences:
        assert any(sentence in text[a:b] for a, b in windows)


def test_cuts_fall_back_to_spaces_then_hard_cuts() -> None:
    words = " ".join(["word"] * 200)
    for start, end in split_windows(words, 50)[:-1]:
        assert words[end - 1] == " "
        assert end - start <= 50
    blob = "x" * 1000
    windows = split_windows(blob, 100, overlap_chars=10)
    assert all(b - a <= 100 for a, b in windows)
    assert windows[-1][1] == 1000


def check_windows(text: str, windows: list[tuple[int, int]], max_chars: int) -> None:
    assert windows[0][0] == 0
    assert windows[-1][1] == len(text)
    for start, end in windows:
        assert 0 <= start <= end <= len(text)
        assert end - start <= max_chars
        if text:
            assert end > start
    for (a1, b1), (a2, b2) in itertools.pairwise(windows):
        assert a1 < a2, "windows must move forward"
        assert a2 <= b1, "a gap between windows would skip text"
        assert b2 > b1


sentence_text = st.lists(
    st.one_of(
        st.text(alphabet="abcdefghij ", min_size=1, max_size=60),
        st.sampled_from([". ", "\n", " ", "."]),
    ),
    max_size=80,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(st.text(max_size=2000), sentence_text),
    st.integers(min_value=1, max_value=400),
    st.integers(min_value=0, max_value=400),
)
def test_windows_cover_everything_within_bounds(text: str, max_chars: int, overlap: int) -> None:
    windows = split_windows(text, max_chars, overlap_chars=overlap)
    check_windows(text, windows, max_chars)


def test_huge_text_is_fast_and_linear_in_windows() -> None:
    text = ("The harbour was busy on Monday. " * 40_000) + "x" * 100_000
    started = time.perf_counter()
    windows = split_windows(text, 4000, overlap_chars=400)
    assert time.perf_counter() - started < 2.0
    check_windows(text, windows, 4000)
    assert len(windows) < 2 * len(text) / (4000 - 400)
