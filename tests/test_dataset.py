"""Dataset: loaders, validation, FIB/USB formats, operations, hashing, fine-tuning export."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hallujudge import ConfigurationError, DataError, Dataset, Example, get_prompt

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data not present")

PAIRS = [
    {"id": "a", "premise": "Doc one.", "hypothesis": "Sum one.", "target": 1, "source": "s1"},
    {"id": "b", "premise": "Doc one.", "hypothesis": "Sum two.", "target": 0, "source": "s1"},
    {"id": "c", "premise": "Doc two.", "hypothesis": "Sum three.", "target": 1, "source": "s2"},
]


def document_key(document: str) -> str:
    """A document up to spacing and case: what ``Dataset.split`` promises to keep together."""
    return " ".join(document.split()).casefold()


def fib_choices(texts: list[str]) -> list[str]:
    """``texts`` as ``Dataset.from_fib`` reads FIB choices (tags, PTB brackets, spacing)."""
    rows = [
        {"id": str(i), "input": "D.", "correct_choice": t, "list_choices": [t], "lbl": 0}
        for i, t in enumerate(texts)
    ]
    return [ex.summary for ex in Dataset.from_fib(rows)]


def _write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _toy(n_docs: int = 10, per_doc: int = 2, name: str = "toy") -> Dataset:
    rows = [
        Example(
            document=f"Document number {d}.",
            summary=f"Summary {d}.{k}",
            label=1 if k % 2 == 0 else 0,
            id=f"{d}-{k}",
            source="even" if d % 2 == 0 else "odd",
        )
        for d in range(n_docs)
        for k in range(per_doc)
    ]
    return Dataset(rows, name=name)


# -- loaders --------------------------------------------------------------------------------


def test_from_jsonl_pair_format(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "pairs.jsonl", PAIRS)
    ds = Dataset.from_jsonl(path)
    assert len(ds) == 3
    assert ds[0] == Example(document="Doc one.", summary="Sum one.", label=1, id="a", source="s1")
    assert [ex.label for ex in ds] == [1, 0, 1]
    assert ds.name == f"{tmp_path.name}/pairs"


def test_from_jsonl_custom_mapping_and_extra_columns_in_meta(tmp_path: Path) -> None:
    rows = [{"article": "A doc.", "claim": "A claim.", "ok": "consistent", "model": "bart"}]
    path = _write_jsonl(tmp_path / "x.jsonl", rows)
    ds = Dataset.from_jsonl(path, document="article", summary="claim", label="ok")
    assert ds[0].label == 1
    assert ds[0].meta == {"model": "bart"}


def test_from_jsonl_without_label_column_is_unlabelled(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "u.jsonl", [{"premise": "D.", "hypothesis": "S."}])
    ds = Dataset.from_jsonl(path)
    assert ds[0].label is None
    assert ds.label_counts() == {1: 0, 0: 0, None: 1}


def test_explicit_label_column_missing_is_an_error(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "u.jsonl", [{"premise": "D.", "hypothesis": "S.", "y": 1}])
    with pytest.raises(DataError, match=r"missing column\(s\) 'tgt'.*'premise', 'hypothesis', 'y'"):
        Dataset.from_jsonl(path, label="tgt")


def test_from_csv(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(
        'id,premise,hypothesis,target\n1,"Doc, with comma.",Sum.,1\n2,Doc 2.,Sum 2.,0\n'
        "3,Doc 3.,Sum 3.,\n",
        encoding="utf-8",
    )
    ds = Dataset.from_csv(path)
    assert [ex.document for ex in ds] == ["Doc, with comma.", "Doc 2.", "Doc 3."]
    assert [ex.label for ex in ds] == [1, 0, None]
    assert ds[0].id == "1"


def test_from_parquet(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "p.parquet"
    pq.write_table(pa.Table.from_pylist(PAIRS), path)
    ds = Dataset.from_parquet(path)
    assert ds.examples == Dataset.from_examples(PAIRS).examples


def test_from_pandas_and_round_trip() -> None:
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(PAIRS)
    ds = Dataset.from_pandas(df, name="df")
    assert [ex.id for ex in ds] == ["a", "b", "c"]
    back = Dataset.from_pandas(ds.to_pandas(), name="df")
    assert back == ds
    assert str(ds.to_pandas()["label"].dtype) == "Int64"


def test_from_pandas_nan_label_is_unlabelled_nan_text_is_error() -> None:
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"premise": ["D.", "E."], "hypothesis": ["S.", "T."], "target": [1, None]})
    assert [ex.label for ex in Dataset.from_pandas(df)] == [1, None]
    ids = pd.DataFrame({"id": [7, None], "premise": ["D.", "E."], "hypothesis": ["S.", "T."]})
    assert [ex.id for ex in Dataset.from_pandas(ids)] == ["7", None]
    bad = pd.DataFrame({"premise": ["D.", None], "hypothesis": ["S.", "T."]})
    with pytest.raises(DataError, match=r"row 1 .*'premise' is empty") as info:
        Dataset.from_pandas(bad)
    assert info.value.row == 1


def test_from_hf_datasets() -> None:
    hf = pytest.importorskip("datasets")
    ds = Dataset.from_hf(hf.Dataset.from_list(PAIRS), name="hf")
    assert ds.examples == Dataset.from_examples(PAIRS).examples
    with pytest.raises(DataError, match="DatasetDict"):
        Dataset.from_hf(hf.DatasetDict({"train": hf.Dataset.from_list(PAIRS)}))


def test_from_hf_recognises_fib_rows() -> None:
    hf = pytest.importorskip("datasets")
    ds = Dataset.from_hf(hf.Dataset.from_list([FIB_ROW]))
    assert len(ds) == 2
    assert ds[1].label == 1


def test_from_examples_accepts_tuples_dicts_examples() -> None:
    ds = Dataset.from_examples(
        [
            ("D1.", "S1."),
            ("D2.", "S2.", "inconsistent"),
            {"document": "D3.", "summary": "S3.", "label": True},
            {"premise": "D4.", "hypothesis": "S4.", "target": "0"},
            Example(document="D5.", summary="S5.", label=1),
        ]
    )
    assert [ex.label for ex in ds] == [None, 0, 1, 0, 1]
    with pytest.raises(DataError, match=r"row 0 of .* is a list"):
        Dataset.from_examples([["D", "S"]])  # type: ignore[list-item]


def test_load_picks_reader_by_suffix(tmp_path: Path) -> None:
    _write_jsonl(tmp_path / "a.jsonl", PAIRS)
    (tmp_path / "a.json").write_text(json.dumps(PAIRS), encoding="utf-8")
    (tmp_path / "a.csv").write_text(
        "id,premise,hypothesis,target,source\n"
        + "".join(
            f"{r['id']},{r['premise']},{r['hypothesis']},{r['target']},{r['source']}\n"
            for r in PAIRS
        ),
        encoding="utf-8",
    )
    expected = Dataset.from_examples(PAIRS).examples
    for suffix in ("jsonl", "json", "csv"):
        assert Dataset.load(tmp_path / f"a.{suffix}").examples == expected, suffix
    (tmp_path / "a.txt").write_text("x", encoding="utf-8")
    with pytest.raises(DataError, match=r"unsupported file type '\.txt'"):
        Dataset.load(tmp_path / "a.txt")


def test_load_sniffs_fib_and_usb(tmp_path: Path) -> None:
    fib = Dataset.load(_write_jsonl(tmp_path / "fib.jsonl", [FIB_ROW]))
    assert [ex.label for ex in fib] == [0, 1]
    usb = Dataset.load(_write_jsonl(tmp_path / "usb.jsonl", USB_ROWS))
    assert [ex.label for ex in usb] == [1, 0]


def test_missing_file_and_hub_name_routing(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        Dataset.load(tmp_path / "nope.jsonl")
    with pytest.raises(DataError, match="file not found"):
        Dataset.from_jsonl(tmp_path / "nope.jsonl")


# -- validation -----------------------------------------------------------------------------


def test_bad_json_line_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(PAIRS[0]) + "\n\n{not json\n", encoding="utf-8")
    with pytest.raises(DataError, match="line 3 is not valid JSON") as info:
        Dataset.from_jsonl(path)
    assert info.value.row == 1


def test_non_object_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("[1, 2]\n", encoding="utf-8")
    with pytest.raises(DataError, match="line 1 holds a JSON list"):
        Dataset.from_jsonl(path)


def test_missing_field_lists_columns_and_mapping(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "m.jsonl", [{"text": "D.", "claim": "S.", "target": 1}])
    with pytest.raises(DataError) as info:
        Dataset.from_jsonl(path)
    message = str(info.value)
    assert "'premise', 'hypothesis'" in message
    assert "'text', 'claim', 'target'" in message
    assert "document='premise'" in message
    assert info.value.row == 0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, 1),
        (0, 0),
        ("1", 1),
        ("0", 0),
        (True, 1),
        (False, 0),
        (1.0, 1),
        ("Consistent", 1),
        ("1.0", 1),
        ("0.0", 0),
        (" inconsistent ", 0),
        (None, None),
        ("", None),
    ],
)
def test_accepted_labels(value: object, expected: int | None) -> None:
    ds = Dataset.from_examples([{"premise": "D.", "hypothesis": "S.", "target": value}])
    assert ds[0].label == expected


@pytest.mark.parametrize("value", [2, -1, "yes", "2", 0.5, [1], {"a": 1}])
def test_bad_labels_name_the_row(value: object) -> None:
    rows = [{"premise": "D.", "hypothesis": "S.", "target": 1}] * 2
    rows.append({"premise": "D.", "hypothesis": "T.", "target": value})
    with pytest.raises(DataError, match=r"row 2 .*label .* is not valid") as info:
        Dataset.from_examples(rows)
    assert info.value.row == 2


@pytest.mark.parametrize(
    ("document", "message"),
    [("", "is empty"), ("   ", "is empty"), (None, "is empty"), (42, "must be text, got int")],
)
def test_bad_text_names_the_row(document: object, message: str) -> None:
    with pytest.raises(DataError, match=message) as info:
        Dataset.from_examples([PAIRS[0], {"premise": document, "hypothesis": "S."}])
    assert info.value.row == 1


def test_duplicate_ids_name_both_rows(tmp_path: Path) -> None:
    rows = [*PAIRS, {**PAIRS[2], "hypothesis": "Other.", "id": "a"}]
    with pytest.raises(DataError, match="duplicate id 'a' at rows 0 and 3") as info:
        Dataset.from_jsonl(_write_jsonl(tmp_path / "d.jsonl", rows))
    assert info.value.row == 3


def test_constructor_rejects_non_examples() -> None:
    with pytest.raises(DataError, match="row 0 is a tuple"):
        Dataset([("D", "S")])  # type: ignore[list-item]


def test_bad_csv_row(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text("premise,hypothesis\nD.,S.,extra\n", encoding="utf-8")
    with pytest.raises(DataError, match="more cells than the header"):
        Dataset.from_csv(path)


def test_empty_dataset_is_allowed_but_described() -> None:
    empty = Dataset((), name="nothing")
    assert len(empty) == 0
    assert "empty" in empty.describe()
    with pytest.raises(DataError, match="at least 2 documents"):
        empty.split()
    with pytest.raises(DataError, match="both labels are needed"):
        empty.balance()


def test_empty_file_loads_empty(tmp_path: Path) -> None:
    (tmp_path / "e.jsonl").write_text("\n", encoding="utf-8")
    assert len(Dataset.load(tmp_path / "e.jsonl")) == 0


def test_missing_optional_dependency_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ConfigurationError, match=r"pip install 'hallujudge\[data\]'"):
        _toy().to_pandas()


def test_base_import_does_not_import_pandas_or_datasets() -> None:
    code = (
        "import sys, hallujudge._dataset as d; "
        "d.Dataset.from_examples([('a','b',1)]).content_hash(); "
        "print(sorted(m for m in ('pandas','datasets','pyarrow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- FIB and USB formats --------------------------------------------------------------------

FIB_ROW = {
    "id": "123",
    "input": "The ferry will run slower.",
    "correct_choice": "Ferry crossings will be slower.",
    "list_choices": [" A new ferry was launched.", "Ferry crossings will be slower."],
    "lbl": 1,
}

USB_ROWS = [
    {
        "id": "u1",
        "input_lines": ["Ann was born in 1990.", "She is a singer."],
        "summary_sent": "Ann is a singer.",
        "label": 0,
    },
    {
        "id": "u2",
        "input_lines": ["Ann was born in 1990.", "She is a singer."],
        "summary_sent": "Ann is a singer born in 1985.",
        "label": 1,
    },
]


def test_from_fib_rows_expand_choices() -> None:
    ds = Dataset.from_fib(
        [FIB_ROW, {**FIB_ROW, "list_choices": FIB_ROW["list_choices"][::-1], "lbl": 0}]
    )
    assert len(ds) == 4
    assert [ex.label for ex in ds] == [0, 1, 1, 0]
    assert ds[0].summary == "A new ferry was launched."  # stripped
    assert [ex.id for ex in ds] == ["123-0-0", "123-0-1", "123-1-0", "123-1-1"]
    assert all(ex.document == FIB_ROW["input"] for ex in ds)
    assert ds[0].source == "fib"
    assert Dataset.from_fib([FIB_ROW], source="fib-xsum")[0].source == "fib-xsum"
    assert len(ds.dedupe()) == 2


def test_fib_cnndm_tags_become_sentences() -> None:
    row = {
        "id": "x",
        "input": "( cnn ) a thing happened .",
        "correct_choice": "<t> -lrb- cnn -rrb- a thing happened . </t> <t> it was big . </t>",
        "list_choices": [
            "<t> a thing did not happen . </t>",
            "<t> -lrb- cnn -rrb- a thing happened . </t> <t> it was big . </t>",
        ],
        "lbl": 1,
    }
    ds = Dataset.from_fib([row])
    assert ds[1].summary == "( cnn ) a thing happened .\nit was big ."
    assert ds[0].summary == "a thing did not happen ."
    assert {ex.source for ex in ds} == {"fib-cnndm"}
    assert fib_choices([" plain text "]) == ["plain text"]


def test_fib_uses_dataset_column_for_source() -> None:
    ds = Dataset.from_fib([{**FIB_ROW, "dataset": "xsum"}])
    assert ds[0].source == "fib-xsum"
    assert ds[0].meta["dataset"] == "xsum"


def test_fib_validation() -> None:
    with pytest.raises(DataError, match="not a FIB row, missing 'correct_choice'"):
        Dataset.from_fib([{"id": "1", "input": "D", "list_choices": ["a"]}])
    with pytest.raises(DataError, match="correct_choice appears 0 times"):
        Dataset.from_fib([{**FIB_ROW, "correct_choice": "Something else."}])
    with pytest.raises(DataError, match="lbl=0 but correct_choice is list_choices\\[1\\]") as info:
        Dataset.from_fib([FIB_ROW, {**FIB_ROW, "lbl": 0}])
    assert info.value.row == 1


def test_usb_label_inversion() -> None:
    ds = Dataset.from_usb(USB_ROWS)
    assert [ex.label for ex in ds] == [1, 0]  # USB 0 = after edit = consistent
    assert ds[0].document == "Ann was born in 1990. She is a singer."
    assert ds[0].meta["usb_label"] == 0
    assert ds[0].source == "usb-wiki"
    with pytest.raises(DataError, match="USB label 2 is not 0"):
        Dataset.from_usb([{**USB_ROWS[0], "label": 2}])


@needs_data
def test_real_fib_raw_xsum() -> None:
    path = DATA / "fib" / "raw" / "xsum.jsonl"
    raw = [json.loads(line) for line in path.open(encoding="utf-8")]
    ds = Dataset.from_fib(path)
    assert len(ds) == sum(len(r["list_choices"]) for r in raw) == 2 * len(raw)
    assert {ex.source for ex in ds} == {"fib-xsum"}
    consistent = [ex for ex in ds if ex.label == 1]
    assert len(consistent) == len(raw)
    for row, ex in zip(raw, consistent, strict=True):
        assert ex.summary == row["correct_choice"].strip()
        assert ex.document == row["input"]
    assert ds.label_counts() == {1: len(raw), 0: len(raw)}


@needs_data
def test_real_fib_raw_cnndm_matches_held_out_pairs() -> None:
    path = DATA / "fib" / "raw" / "cnn_dm.jsonl"
    raw = [json.loads(line) for line in path.open(encoding="utf-8")]
    ds = Dataset.from_fib(path)
    assert len(ds) == sum(len(r["list_choices"]) for r in raw)
    assert not any("<t>" in ex.summary or "</t>" in ex.summary for ex in ds)
    assert {ex.source for ex in ds} == {"fib-cnndm"}
    # The held-out pair file is FIB CNN/DM deduplicated, with tags as published.
    pairs = Dataset.load(DATA / "fib" / "test-cnndm.jsonl")
    summaries = fib_choices([ex.summary for ex in pairs])
    published = {
        (ex.document, summary, ex.label) for ex, summary in zip(pairs, summaries, strict=True)
    }
    assert {(ex.document, ex.summary, ex.label) for ex in ds.dedupe()} == published


@needs_data
def test_real_pair_files() -> None:
    val = Dataset.load(DATA / "fib" / "val.jsonl")
    assert len(val) == 180
    assert val.label_counts() == {1: 90, 0: 90}
    usb = Dataset.load(DATA / "usb" / "train.jsonl")
    assert len(usb) == 5050
    assert usb.source_counts() == {"usb-wiki": 5050}


def test_hub_offline_fails_fast_with_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("datasets")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.monotonic()
    with pytest.raises(DataError, match="needs network access") as info:
        Dataset.from_hub("r-three/fib")
    assert time.monotonic() - start < 5
    assert "Dataset.load(" in str(info.value)


def test_hub_unreachable_fails_fast_without_offline_flag() -> None:
    pytest.importorskip("datasets")
    # A fresh process: `datasets` reads HF_HUB_OFFLINE at import, and conftest sets it here.
    offline_flags = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")
    env = {k: v for k, v in os.environ.items() if k not in offline_flags}
    env["HF_ENDPOINT"] = "http://127.0.0.1:9"  # the discard port: refused at once
    code = (
        "import time\n"
        "from hallujudge import DataError\n"
        "from hallujudge._dataset import Dataset\n"
        "start = time.monotonic()\n"
        "try:\n"
        "    Dataset.load('r-three/fib')\n"
        "except DataError as exc:\n"
        "    print(round(time.monotonic() - start, 2), exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    seconds, _, message = out.stdout.partition(" ")
    assert float(seconds) < 5, out.stdout + out.stderr
    assert "unreachable" in message
    assert "HF_HUB_OFFLINE=1" in message


# -- operations -----------------------------------------------------------------------------


def test_sequence_behaviour_and_immutability() -> None:
    ds = _toy(3)
    assert isinstance(ds[0], Example)
    sliced = ds[1:3]
    assert isinstance(sliced, Dataset)
    assert sliced.examples == ds.examples[1:3]
    assert next(reversed(ds)) == ds[-1]
    assert ds[0] in ds
    with pytest.raises(AttributeError, match="immutable"):
        ds.name = "other"  # type: ignore[misc]
    assert hash(ds) == hash(_toy(3))
    assert (ds + _toy(1, name="x").filter(lambda e: False)).examples == ds.examples


def test_split_by_document_and_seeded() -> None:
    ds = _toy(50, per_doc=3)
    train, test = ds.split(test_size=0.2, seed=1)
    assert len(train) + len(test) == len(ds)
    assert {document_key(e.document) for e in train}.isdisjoint(
        document_key(e.document) for e in test
    )
    assert test.num_documents() == 10
    assert ds.split(test_size=0.2, seed=1) == (train, test)
    assert ds.split(test_size=0.2, seed=2) != (train, test)
    assert train.name == "toy-train" and test.name == "toy-test"


def test_split_groups_documents_differing_in_case_and_space() -> None:
    rows = [
        ("Same  doc.", "S1.", 1),
        ("same doc.", "S2.", 0),
        ("Other.", "S3.", 1),
        ("Third.", "S4.", 0),
    ]
    train, test = Dataset.from_examples(rows).split(test_size=0.5, seed=0)
    together = {e.summary for e in train} >= {"S1.", "S2."} or {e.summary for e in test} >= {
        "S1.",
        "S2.",
    }
    assert together


def test_split_keeps_label_mix() -> None:
    rows = [(f"Doc {i}.", f"S {i}.", i % 2) for i in range(100)]
    train, test = Dataset.from_examples(rows).split(test_size=0.2, seed=3)
    assert test.label_counts() == {1: 10, 0: 10}
    assert train.label_counts() == {1: 40, 0: 40}


def test_split_errors() -> None:
    one_doc = Dataset.from_examples([("D.", "S1.", 1), ("D.", "S2.", 0)])
    with pytest.raises(DataError, match="1 distinct document"):
        one_doc.split()
    with pytest.raises(ConfigurationError, match="test_size"):
        _toy().split(test_size=1.5)
    train, test = Dataset.from_examples([("D1.", "S.", 1), ("D2.", "S.", 0)]).split(test_size=0.01)
    assert len(train) == 1 and len(test) == 1


@settings(max_examples=60, deadline=None)
@given(
    docs=st.lists(st.integers(min_value=0, max_value=8), min_size=2, max_size=40),
    labels=st.lists(st.sampled_from([0, 1, None]), min_size=40, max_size=40),
    test_size=st.floats(min_value=0.05, max_value=0.95),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_split_never_shares_a_document(
    docs: list[int], labels: list[int | None], test_size: float, seed: int
) -> None:
    rows = [
        Example(document=f"doc {d}" if i % 2 else f"DOC  {d}", summary=f"s{i}", label=labels[i])  # type: ignore[arg-type]
        for i, d in enumerate(docs)
    ]
    ds = Dataset(rows)
    if ds.num_documents() < 2:
        with pytest.raises(DataError):
            ds.split(test_size=test_size, seed=seed)
        return
    train, test = ds.split(test_size=test_size, seed=seed)
    train_docs = {document_key(e.document) for e in train}
    test_docs = {document_key(e.document) for e in test}
    assert train_docs and test_docs
    assert train_docs.isdisjoint(test_docs)
    assert sorted(train.examples + test.examples, key=rows.index) == rows
    assert ds.split(test_size=test_size, seed=seed) == (train, test)


def test_balance() -> None:
    rows = [(f"D{i}.", f"S{i}.", 1 if i < 8 else 0) for i in range(10)]
    ds = Dataset.from_examples(rows)
    balanced = ds.balance(seed=0)
    assert balanced.label_counts() == {1: 2, 0: 2}
    assert balanced == ds.balance(seed=0)
    assert [ds.examples.index(e) for e in balanced] == sorted(
        ds.examples.index(e) for e in balanced
    )
    with pytest.raises(DataError, match="both labels"):
        ds.filter(lambda e: e.label == 1).balance()
    with pytest.raises(DataError, match="row 0 is unlabelled"):
        Dataset.from_examples([("D.", "S.")]).balance()


def test_sample_head_filter_shuffle() -> None:
    ds = _toy(20)
    s = ds.sample(7, seed=4)
    assert len(s) == 7 and len({e.id for e in s}) == 7
    assert s == ds.sample(7, seed=4)
    assert s != ds.sample(7, seed=5)
    with pytest.raises(DataError, match="cannot sample 41"):
        ds.sample(41)
    with pytest.raises(ConfigurationError):
        ds.head(-1)
    assert ds.head(3).examples == ds.examples[:3]
    assert ds.head(1000) == ds
    assert all(e.label == 1 for e in ds.filter(lambda e: e.label == 1))
    shuffled = ds.shuffle(seed=0)
    assert sorted(shuffled, key=ds.examples.index) == list(ds)
    assert shuffled.examples != ds.examples


def test_dedupe() -> None:
    ds = Dataset.from_examples([("D.", "S.", 1), ("D.", "S.", 1), ("D.", "T.", 0)])
    assert [e.summary for e in ds.dedupe()] == ["S.", "T."]
    conflict = Dataset.from_examples(
        [
            {"id": "p", "document": "D.", "summary": "S.", "label": 1},
            ("E.", "X."),
            {"id": "q", "document": "D.", "summary": "S.", "label": 0},
        ]
    )
    with pytest.raises(DataError, match=r"row 0 \(id 'p'\) and row 2 \(id 'q'\).*different labels"):
        conflict.dedupe()


def test_mix_weights() -> None:
    a, b = _toy(50, name="a"), _toy(30, name="b").rename("b")
    b = Dataset([e.model_copy(update={"id": "b" + str(e.id), "source": "B"}) for e in b], name="b")
    mixed = Dataset.mix([a, b], [0.75, 0.25], n=40, seed=0)
    assert len(mixed) == 40
    assert sum(e.source == "B" for e in mixed) == 10
    assert mixed == Dataset.mix([a, b], [0.75, 0.25], n=40, seed=0)
    assert mixed.name == "mix(a,b)"
    largest = Dataset.mix([a, b], [0.5, 0.5], seed=0)
    assert len(largest) == 120  # b has 60 rows: 60 + 60
    assert Dataset.mix([a, b]).examples == a.examples + b.examples
    with pytest.raises(DataError, match="needs 100 rows from dataset 1 but it has 60"):
        Dataset.mix([a, b], [0.5, 0.5], n=200)
    with pytest.raises(ConfigurationError, match="weights"):
        Dataset.mix([a, b], [1.0])
    with pytest.raises(ConfigurationError, match="weights"):
        Dataset.mix([a, b], [-1.0, 2.0])


def test_mix_with_colliding_ids_is_an_error() -> None:
    with pytest.raises(DataError, match=r"duplicate id '0-0' at rows 0 and 4.*share ids"):
        Dataset.mix([_toy(2), _toy(2)])


# -- hash, counts, describe -----------------------------------------------------------------


def test_content_hash_stable_and_sensitive() -> None:
    ds = _toy(5)
    h = ds.content_hash()
    assert len(h) == 64 and h == _toy(5, name="other").content_hash()
    flipped = list(ds.examples)
    flipped[3] = flipped[3].model_copy(update={"label": 1 - flipped[3].label})  # type: ignore[operator]
    assert Dataset(flipped).content_hash() != h
    assert Dataset(ds.examples[::-1]).content_hash() != h
    reids = Dataset([e.model_copy(update={"id": None, "meta": {"x": 1}}) for e in ds])
    assert reids.content_hash() == h


def test_content_hash_same_in_another_process() -> None:
    code = (
        "from hallujudge._dataset import Dataset\n"
        "rows = [('Doc é.', 'S.', 1), ('D2', 'S2', 0), ('D3', 'S3')]\n"
        "print(Dataset.from_examples(rows).content_hash())\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "123"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    here = Dataset.from_examples(
        [("Doc é.", "S.", 1), ("D2", "S2", 0), ("D3", "S3")]
    ).content_hash()
    assert out.stdout.strip() == here
    # Pinned: the documented canonical form must not drift silently.
    assert here == _documented_hash([("Doc é.", "S.", 1), ("D2", "S2", 0), ("D3", "S3", None)])


def _documented_hash(rows: list[tuple[str, str, int | None]]) -> str:
    import hashlib

    digest = hashlib.sha256(b"hallujudge-dataset-v1\n")
    for row in rows:
        digest.update(
            json.dumps(list(row), ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        )
    return digest.hexdigest()


def test_describe_and_counts() -> None:
    ds = _toy(4)
    text = ds.describe()
    assert "8 rows (4 consistent, 4 inconsistent)" in text
    assert "4 distinct documents" in text
    assert "even (4), odd (4)" in text
    assert ds.content_hash()[:16] in text
    assert repr(ds) == "Dataset(name='toy', rows=8, labels={1: 4, 0: 4})"


# -- export ---------------------------------------------------------------------------------


def test_to_jsonl_round_trip(tmp_path: Path) -> None:
    ds = Dataset.from_examples(
        [*PAIRS, {"premise": "Ünïcode doc.", "hypothesis": "S.", "note": "kept"}], name="rt"
    )
    path = ds.to_jsonl(tmp_path / "sub" / "rt.jsonl")
    first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert first == {
        "id": "a",
        "premise": "Doc one.",
        "hypothesis": "Sum one.",
        "target": 1,
        "source": "s1",
    }
    back = Dataset.from_jsonl(path, name="rt")
    assert back == ds
    assert back[3].meta == {"note": "kept"}
    assert back.content_hash() == ds.content_hash()


@pytest.mark.parametrize("prompt", ["fine-tune", "zero-shot", "reason-first"])
def test_to_finetune_records_match_inference_prompt(prompt: str) -> None:
    ds = _toy(3)
    records = ds.to_finetune_records(prompt)
    strategy = get_prompt(prompt)
    assert len(records) == len(ds)
    for record, ex in zip(records, ds, strict=True):
        assert record["messages"][:-1] == strategy.render(ex)
        assert record["messages"][-1] == {"role": "assistant", "content": strategy.target(ex)}
    if prompt == "fine-tune":
        assert [r["messages"][-1]["content"] for r in records] == [str(e.label) for e in ds]


def test_to_finetune_records_requires_labels(tmp_path: Path) -> None:
    ds = Dataset.from_examples([("D.", "S.", 1), {"id": "u", "document": "E.", "summary": "T."}])
    with pytest.raises(DataError, match=r"row 1 \(id 'u'\).*unlabelled") as info:
        ds.to_finetune_records()
    assert info.value.row == 1
    with pytest.raises(ConfigurationError, match="unknown prompt"):
        _toy(1).to_finetune_records("fine-tun")


def test_to_finetune_jsonl(tmp_path: Path) -> None:
    ds = _toy(2)
    path = ds.to_finetune_jsonl(tmp_path / "train.jsonl")
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert lines == ds.to_finetune_records("fine-tune")
    assert not list(tmp_path.glob(".train.jsonl.*"))  # no temp file left behind


# -- robustness -----------------------------------------------------------------------------


def test_pickle_and_copy_round_trip() -> None:
    import copy
    import pickle

    ds = _toy(3)
    assert pickle.loads(pickle.dumps(ds)) == ds
    assert copy.deepcopy(ds) == ds
    assert copy.copy(ds) == ds


def test_utf8_bom_is_ignored(tmp_path: Path) -> None:
    jsonl = tmp_path / "bom.jsonl"
    jsonl.write_bytes(b"\xef\xbb\xbf" + json.dumps(PAIRS[0]).encode() + b"\r\n")
    assert Dataset.load(jsonl)[0].id == "a"
    csv_file = tmp_path / "bom.csv"
    csv_file.write_bytes(b"\xef\xbb\xbfpremise,hypothesis,target\r\nD.,S.,1\r\n")
    assert Dataset.load(csv_file)[0].label == 1


def test_fib_file_read_as_pairs_points_to_the_right_loader(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "raw.jsonl", [FIB_ROW])
    with pytest.raises(DataError, match=r"look like FIB rows.*Dataset\.from_fib"):
        Dataset.from_jsonl(path)
    usb = _write_jsonl(tmp_path / "u.jsonl", USB_ROWS)
    with pytest.raises(DataError, match=r"look like USB rows.*Dataset\.from_usb"):
        Dataset.from_jsonl(usb)


def test_usb_from_pandas_float_labels() -> None:
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(USB_ROWS)
    df["label"] = df["label"].astype(float)
    assert [e.label for e in Dataset.from_usb(df.to_dict(orient="records"))] == [1, 0]


def test_to_pandas_to_parquet_round_trip(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    ds = _toy(3)
    assert "meta" not in ds.to_pandas().columns
    path = tmp_path / "t.parquet"
    ds.to_pandas().to_parquet(path)
    assert Dataset.load(path, name="toy") == ds
    with_meta = Dataset.from_fib([FIB_ROW])
    with_meta.to_pandas().to_parquet(tmp_path / "m.parquet")
    back = Dataset.load(tmp_path / "m.parquet", name=with_meta.name)
    assert back == with_meta


def test_fib_source_from_file_name_only_when_rows_do_not_tell(tmp_path: Path) -> None:
    tagged = {
        **FIB_ROW,
        "correct_choice": "<t> right . </t>",
        "list_choices": ["<t> wrong . </t>", "<t> right . </t>"],
    }
    folder = tmp_path / "cnn_runs"  # folder names are not used as hints
    folder.mkdir()
    plain = Dataset.from_fib(_write_jsonl(folder / "xsum.jsonl", [FIB_ROW]))
    assert {e.source for e in plain} == {"fib-xsum"}
    mixed = Dataset.load(_write_jsonl(folder / "xsum-2.jsonl", [FIB_ROW, {**tagged, "id": "t"}]))
    assert [e.source for e in mixed] == ["fib-xsum", "fib-xsum", "fib-cnndm", "fib-cnndm"]
    assert {e.source for e in Dataset.from_fib(_write_jsonl(folder / "f.jsonl", [FIB_ROW]))} == {
        "fib"
    }


def test_stream_yields_lazily_and_matches_load(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in PAIRS) + "{broken\n", encoding="utf-8")
    stream = Dataset.stream(path)
    got = [next(stream) for _ in range(3)]  # the broken line is not read yet
    assert got == list(Dataset.from_examples(PAIRS))
    with pytest.raises(DataError, match="line 4 is not valid JSON"):
        next(stream)
    fib = _write_jsonl(tmp_path / "xsum.jsonl", [FIB_ROW])
    assert list(Dataset.stream(fib)) == list(Dataset.load(fib))


def test_synthesize_makes_labelled_pairs_from_the_datasets_own_documents() -> None:
    real = Dataset.builtin("minimal-pairs")
    syn = real.synthesize(ratio=2, seed=0)
    docs = {ex.document for ex in real}
    assert len(syn) > len(real)  # about 2 per row, minus exact duplicates
    assert all(ex.document in docs for ex in syn)  # split(by document) stays leak-free
    pairs = [(ex.document, ex.summary) for ex in syn]
    assert len(pairs) == len(set(pairs))
    kinds = {ex.source.removeprefix("synthetic:"): ex.label for ex in syn if ex.source}
    assert len(kinds) == len(syn.source_counts())  # every row says how it was made
    consistent = {"copied", "compressed", "fused", "generalised"}
    assert {k for k, y in kinds.items() if y == 1} <= consistent
    assert {"swap", "negation", "copied"} <= set(kinds)
    # Consistent copies are lifted from the document word for word.
    assert all(ex.summary in ex.document for ex in syn if ex.source == "synthetic:copied")
    assert syn == real.synthesize(ratio=2, seed=0)
    assert syn != real.synthesize(ratio=2, seed=1)
    assert len(real.synthesize(ratio=0)) == 0
    with pytest.raises(ConfigurationError, match="ratio"):
        real.synthesize(ratio=-1)
