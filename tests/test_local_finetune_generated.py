"""End to end: generate training pairs, fine-tune the local judge on them, judge unseen pairs."""

from __future__ import annotations

import random
from pathlib import Path

from hallujudge import Dataset, Example, FineTuner
from hallujudge._local._augment import augment_rows

TOWNS = [
    "Milbrook", "Ashford", "Castleton", "Northfield", "Dunmore", "Riverton", "Alcana",
    "Westbridge", "Launceston", "Kestrel", "Varna", "Halvorsen", "Greenway", "Oakridge",
]  # fmt: skip
NAMES = [
    "Jane Hollis", "Marco Silva", "Helen Price", "Omar Haddad", "Ruth Adler", "Tom Baker",
    "Anna Berg", "Laura Chen", "Priya Shah", "Carl Jensen",
]  # fmt: skip
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]


def document(i: int) -> str:
    r = random.Random(i)
    town, other = r.sample(TOWNS, 2)
    name = r.choice(NAMES)
    return (
        f"{town} council has approved plans for {r.randint(20, 400)} new homes near the station. "
        f"The decision was taken on {r.choice(DAYS)} after a long meeting. "
        f"Councillor {name} said {r.randint(5, 60)} of the homes would be offered at low rents. "
        f"Residents of nearby {other} had objected to the extra traffic."
    )


def test_local_fine_tune_on_generated_pairs_learns_to_flag_changed_facts(tmp_path: Path) -> None:
    docs = [document(i) for i in range(60)]
    seed_rows = [(d, d.split(". ")[0] + ".", 1) for d in docs]
    generated = augment_rows(seed_rows, ratio=6, seed=0, positive_share=0.4)
    unique = list(dict.fromkeys(row for row, _ in generated))  # the tuner refuses duplicates
    assert {y for _, _, y in unique} == {0, 1} and len(unique) > 200
    train = Dataset([Example(document=d, summary=s, label=y) for d, s, y in unique])
    job = FineTuner("local", out_dir=tmp_path / "model", val_size=0.0).create(train)
    assert job.status == "SUCCESS"
    judge = job.judge()

    unseen = document(1000)  # a document the model never saw
    first, second = unseen.split(". ")[:2]
    copied = judge.score(unseen, second + ".")
    number = judge.score(unseen, first.replace("plans for", "plans for 9") + ".")
    novel = judge.score(unseen, first + ". The mayor Peter Quinn praised a new zoo.")
    assert copied.label == "consistent"
    assert number.label == "inconsistent"
    assert novel.label == "inconsistent"
    assert novel.score is not None and copied.score is not None and novel.score < copied.score
