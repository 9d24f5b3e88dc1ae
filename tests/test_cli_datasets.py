"""``hallujudge datasets``: every action through the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hallujudge import Dataset, get_prompt
from hallujudge.cli import main

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def document_key(document: str) -> str:
    """A document up to spacing and case: what ``Dataset.split`` promises to keep together."""
    return " ".join(document.split()).casefold()


ROWS = [
    {
        "id": f"r{i}",
        "premise": f"Document {i // 2}.",
        "hypothesis": f"Summary {i}.",
        "target": i % 2,
    }
    for i in range(20)
]


@pytest.fixture
def pairs(tmp_path: Path) -> Path:
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    return path


def test_describe(pairs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["datasets", "describe", str(pairs)]) == 0
    out = capsys.readouterr().out
    assert "20 rows (10 consistent, 10 inconsistent) over 10 distinct documents" in out


def test_describe_json(pairs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["datasets", "describe", "--json", str(pairs)]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["rows"] == 20
    assert facts["labels"] == {"1": 10, "0": 10}
    assert facts["content_hash"] == Dataset.load(pairs).content_hash()


def test_describe_with_column_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.csv"
    path.write_text("article,claim,ok\nA doc.,A claim.,consistent\n", encoding="utf-8")
    argv = ["datasets", "describe", str(path), "--document", "article", "--summary", "claim"]
    assert main([*argv, "--label", "ok"]) == 0
    assert "1 rows (1 consistent, 0 inconsistent)" in capsys.readouterr().out


def test_split_writes_document_disjoint_files(
    pairs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["datasets", "split", str(pairs), "--test-size", "0.3", "--out-dir", str(out)]) == 0
    train, test = Dataset.load(out / "train.jsonl"), Dataset.load(out / "test.jsonl")
    assert len(train) + len(test) == 20
    assert test.num_documents() == 3
    assert {document_key(e.document) for e in train}.isdisjoint(
        document_key(e.document) for e in test
    )
    assert (train.examples, test.examples) == tuple(
        d.examples for d in Dataset.load(pairs).split(test_size=0.3)
    )
    # A second run refuses to overwrite, with exit code 2 and a hint.
    assert main(["datasets", "split", str(pairs), "--out-dir", str(out)]) == 2
    assert "--force" in capsys.readouterr().err


def test_export_finetune(pairs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ft.jsonl"
    assert main(["datasets", "export-finetune", str(pairs), "--out", str(out)]) == 0
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    strategy = get_prompt("fine-tune")
    ds = Dataset.load(pairs)
    assert [r["messages"][:-1] for r in records] == [strategy.render(e) for e in ds]
    assert [r["messages"][-1]["content"] for r in records] == [str(e.label) for e in ds]
    assert "prompt fine-tune@2" in capsys.readouterr().out


def test_export_finetune_bad_prompt_and_unlabelled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "u.jsonl"
    path.write_text(json.dumps({"premise": "D.", "hypothesis": "S."}) + "\n", encoding="utf-8")
    assert main(["datasets", "export-finetune", str(path), "--out", str(tmp_path / "o.jsonl")]) == 2
    assert "unlabelled" in capsys.readouterr().err
    argv = ["datasets", "export-finetune", str(path), "--prompt", "zero-sht"]
    assert main([*argv, "--out", str(tmp_path / "o.jsonl")]) == 2
    assert "Did you mean 'zero-shot'" in capsys.readouterr().err
    assert not (tmp_path / "o.jsonl").exists()


def test_convert_fib_rows(tmp_path: Path) -> None:
    raw = tmp_path / "xsum.jsonl"
    row = {
        "id": "9",
        "input": "Doc.",
        "correct_choice": "Right.",
        "list_choices": ["Wrong.", "Right."],
        "lbl": 1,
    }
    raw.write_text(json.dumps(row) + "\n" + json.dumps(row) + "\n", encoding="utf-8")
    out = tmp_path / "pairs.jsonl"
    assert main(["datasets", "convert", str(raw), "--out", str(out), "--dedupe"]) == 0
    ds = Dataset.from_jsonl(out)
    assert [(e.summary, e.label, e.source) for e in ds] == [
        ("Wrong.", 0, "fib-xsum"),
        ("Right.", 1, "fib-xsum"),
    ]


def test_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["datasets", "describe", str(tmp_path / "missing.jsonl")]) == 2
    assert "file not found" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"premise": "D", "hypothesis": "S"}\n{oops\n', encoding="utf-8")
    assert main(["datasets", "describe", str(bad)]) == 2
    assert "line 2 is not valid JSON" in capsys.readouterr().err
    assert main(["datasets"]) == 2


@pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data not present")
def test_console_entry_on_real_file() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "hallujudge",
            "datasets",
            "describe",
            str(DATA / "fib" / "val.jsonl"),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "180 rows (90 consistent, 90 inconsistent) over 90 distinct documents" in out.stdout


def test_synthesize_writes_generated_pairs_over_the_same_documents(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "synthetic.jsonl"
    assert main(["datasets", "synthesize", "minimal-pairs", "--out", str(out), "--seed", "3"]) == 0
    printed = capsys.readouterr().out
    written = Dataset.from_jsonl(out)
    assert written == Dataset.builtin("minimal-pairs").synthesize(seed=3).rename(written.name)
    assert f"{len(written)} rows" in printed and "synthetic:swap" in printed
    # A second run refuses to overwrite; a bad ratio is refused in the CLI's words.
    assert main(["datasets", "synthesize", "minimal-pairs", "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    argv = ["datasets", "synthesize", "minimal-pairs", "--out", str(tmp_path / "x.jsonl")]
    assert main([*argv, "--ratio", "-1"]) == 2
    assert "pass --ratio of 0 or more" in capsys.readouterr().err
    assert not (tmp_path / "x.jsonl").exists()
