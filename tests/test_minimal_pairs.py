"""The shipped behavioural suite (minimal pairs): well-formed, every category, both labels."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from hallujudge._local import load_minimal_pairs
from hallujudge._local._pairs import (
    CONSISTENT_CATEGORIES,
    INCONSISTENT_CATEGORIES,
    MINIMAL_PAIR_CATEGORIES,
    MINIMAL_PAIRS_FILE,
)


def test_every_category_has_ten_pairs_with_the_right_label() -> None:
    pairs = load_minimal_pairs()
    counts = Counter(p.category for p in pairs)
    assert set(counts) == set(MINIMAL_PAIR_CATEGORIES)
    assert min(counts.values()) >= 10
    for p in pairs:
        assert p.target == (1 if p.category in CONSISTENT_CATEGORIES else 0), p.id
    assert not set(CONSISTENT_CATEGORIES) & set(INCONSISTENT_CATEGORIES)


def test_ids_are_unique_and_texts_non_empty() -> None:
    pairs = load_minimal_pairs()
    assert len({p.id for p in pairs}) == len(pairs)
    assert all(p.premise.strip() and p.hypothesis.strip() for p in pairs)
    # A minimal pair changes the summary, never the document: no hypothesis equals a premise
    # except the README's copied twin.
    assert sum(p.premise == p.hypothesis for p in pairs) == 1


def test_readme_quickstart_pair_is_in_the_suite() -> None:
    by_id = {p.id: p for p in load_minimal_pairs()}
    pair = by_id["readme-quickstart-antonym"]
    assert pair.premise == "The council approved 120 homes on the brickworks site."
    assert pair.hypothesis == "The council rejected 120 homes on the brickworks site."
    assert pair.target == 0


def test_file_has_exactly_the_documented_fields() -> None:
    for line in MINIMAL_PAIRS_FILE.read_text(encoding="utf-8").splitlines():
        assert set(json.loads(line)) == {"id", "premise", "hypothesis", "target", "category"}


def test_loader_reads_another_file_with_the_same_fields(tmp_path: Path) -> None:
    row = {"id": "x", "premise": "A b.", "hypothesis": "A.", "target": 1, "category": "copied"}
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps(row) + "\n\n", encoding="utf-8")
    (pair,) = load_minimal_pairs(path)
    assert pair.id == "x" and pair.target == 1
    path.write_text('{"id": "x"}\n', encoding="utf-8")
    with pytest.raises(KeyError):
        load_minimal_pairs(path)
