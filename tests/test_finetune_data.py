"""Fine-tuning data: rendering matches inference, validation names the row, splits, lineage."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from hallujudge import (
    ConfigurationError,
    DataError,
    Dataset,
    Example,
    FakeBackend,
    FineTuner,
    Judge,
    Lineage,
    get_prompt,
)
from hallujudge._finetune._data import (
    Limits,
    build_records,
    content_hash,
    document_split,
    read_jsonl_records,
    to_examples,
    to_jsonl_bytes,
    validate_records,
)
from hallujudge._finetune._lineage import DataStats
from hallujudge._finetune._mistral import wandb_integration

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def pairs(n_docs: int = 10) -> list[Example]:
    """Two summaries per document, one consistent and one not (like FIB)."""
    rows: list[Example] = []
    for d in range(n_docs):
        doc = f"Document {d}: the council met on day {d} and approved {d * 3} new houses."
        rows.append(Example(document=doc, summary=f"The council approved {d * 3} houses.", label=1))
        rows.append(Example(document=doc, summary=f"The council rejected {d + 7} houses.", label=0))
    return rows


def completion_records(n_docs: int = 10) -> list[dict[str, Any]]:
    return build_records(pairs(n_docs), job_type="completion", strategy=get_prompt("fine-tune"))


# -- rendering: training data == inference prompt -------------------------------------------


@pytest.mark.parametrize("prompt", ["fine-tune", "zero-shot", "one-shot", "reason-first"])
async def test_training_records_render_exactly_what_the_judge_sends(prompt: str) -> None:
    examples = pairs(3)
    records = build_records(examples, job_type="completion", strategy=get_prompt(prompt))
    fake = FakeBackend(default='{"consistency": 1}')
    judge = Judge(fake, prompt=prompt)
    for example in examples:
        await judge.ajudge(example)
    assert len(fake.requests) == len(examples)
    strategy = get_prompt(prompt)
    for record, request, example in zip(records, fake.requests, examples, strict=True):
        *prompt_messages, answer = record["messages"]
        assert prompt_messages == [dict(m) for m in request.messages]
        assert answer == {"role": "assistant", "content": strategy.target(example)}


def test_fine_tune_records_answer_with_the_label_digit() -> None:
    records = completion_records(2)
    assert [r["messages"][-1]["content"] for r in records] == ["1", "0", "1", "0"]
    # What the judge's parser reads back from that answer is the label trained on.
    parsed = [get_prompt("fine-tune").parse(r["messages"][-1]["content"]).label for r in records]
    assert parsed == ["consistent", "inconsistent", "consistent", "inconsistent"]


def test_unlabelled_example_is_named() -> None:
    rows = [*pairs(1), Example(document="d", summary="s")]
    with pytest.raises(DataError, match="train row 2: has no label") as info:
        build_records(rows, job_type="completion", strategy=get_prompt("fine-tune"))
    assert info.value.row == 2


def test_dataset_export_matches_records_when_available(tmp_path: Path) -> None:
    dataset_mod = pytest.importorskip("hallujudge._dataset")
    dataset = dataset_mod.Dataset(pairs(3))
    if not hasattr(dataset, "to_finetune_records"):
        pytest.skip("Dataset.to_finetune_records is not there yet")
    ours = build_records(list(dataset), job_type="completion", strategy=get_prompt("fine-tune"))
    assert list(dataset.to_finetune_records("fine-tune")) == ours


# -- validation: every error names the row ----------------------------------------------------


def test_valid_records_pass_and_count_labels() -> None:
    assert validate_records(completion_records(), job_type="completion") == {"1": 10, "0": 10}


def test_last_message_must_come_from_the_assistant() -> None:
    records = completion_records()
    records[4]["messages"].append({"role": "user", "content": "and now?"})
    with pytest.raises(DataError, match=r"train row 4: the last message must come from the assi"):
        validate_records(records, job_type="completion")


def test_empty_content_is_named() -> None:
    records = completion_records()
    records[7]["messages"][-1]["content"] = "   "
    with pytest.raises(DataError, match=r"train row 7: message 1 \(assistant\) has empty content"):
        validate_records(records, job_type="completion")


def test_unknown_role_is_named() -> None:
    records = completion_records()
    records[3]["messages"][0]["role"] = "human"
    with pytest.raises(DataError, match=r"train row 3: message 0 has role 'human'") as info:
        validate_records(records, job_type="completion")
    assert info.value.row == 3


def test_oversize_line_is_named() -> None:
    records = completion_records()
    records[5]["messages"][0]["content"] = "x" * 3000
    with pytest.raises(DataError, match=r"train row 5: is \d+ bytes, over the 2000-byte"):
        validate_records(records, job_type="completion", limits=Limits(max_line_bytes=2000))


def test_file_size_limit_names_the_row_where_it_is_passed() -> None:
    records = completion_records()
    one = len(to_jsonl_bytes(records[:1]))
    with pytest.raises(DataError, match=r"train row 2: the file passes"):
        validate_records(records, job_type="completion", limits=Limits(max_file_bytes=one * 3 - 5))


def test_duplicates_name_both_rows() -> None:
    records = completion_records()
    records.append(json.loads(json.dumps(records[6])))
    with pytest.raises(DataError, match=r"train row 20: duplicates row 6") as info:
        validate_records(records, job_type="completion")
    assert info.value.row == 20


def test_contradictory_labels_are_named() -> None:
    records = completion_records()
    flipped = json.loads(json.dumps(records[2]))
    flipped["messages"][-1]["content"] = "0"
    records.append(flipped)
    with pytest.raises(DataError, match=r"train row 20: has the same input as row 2"):
        validate_records(records, job_type="completion")


def test_too_few_rows() -> None:
    with pytest.raises(DataError, match=r"train has 4 rows; fine-tuning needs at least 10"):
        validate_records(completion_records(2), job_type="completion")


def test_single_label_data_is_refused() -> None:
    records = [r for r in completion_records(12) if r["messages"][-1]["content"] == "1"]
    with pytest.raises(DataError, match="every one of the 12 train rows has the answer '1'"):
        validate_records(records, job_type="completion")


def test_label_imbalance_warns_but_passes() -> None:
    records = completion_records(12)
    records = records[::2] + records[1:4:2]  # 12 consistent, 2 inconsistent
    with pytest.warns(UserWarning, match=r"imbalanced .* the rarer is 14%"):
        counts = validate_records(records, job_type="completion")
    assert counts == {"1": 12, "0": 2}


def test_balanced_data_does_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        validate_records(completion_records(), job_type="completion")


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"text": "", "labels": {"consistency": "consistent"}}, "'text' is empty"),
        ({"text": "t", "labels": {"consistency": "maybe"}}, "'labels' must be"),
        ({"text": "t", "labels": {}}, "'labels' must be"),
    ],
)
def test_classifier_rows_are_checked(record: dict[str, Any], message: str) -> None:
    rows = [
        {"text": f"pair {i}", "labels": {"consistency": ("consistent", "inconsistent")[i % 2]}}
        for i in range(12)
    ]
    rows.insert(9, record)
    with pytest.raises(DataError, match=f"train row 9: {message}"):
        validate_records(rows, job_type="classifier")


def test_jsonl_file_round_trip_and_bad_lines(tmp_path: Path) -> None:
    records = completion_records()
    path = tmp_path / "train.jsonl"
    path.write_bytes(to_jsonl_bytes(records))
    assert read_jsonl_records(path) == records
    path.write_bytes(to_jsonl_bytes(records[:3]) + b"{not json\n")
    with pytest.raises(DataError, match=r"row 3 \(line 4\): not JSON"):
        read_jsonl_records(path)


# -- inputs, splits, hashes --------------------------------------------------------------------


def test_to_examples_reads_notebook_rows_and_names_bad_ones() -> None:
    rows = [
        {"premise": "p", "hypothesis": "h", "target": 1},
        {"document": "d", "summary": "s", "label": 0},
    ]
    assert [(e.document, e.label) for e in to_examples(rows)] == [("p", 1), ("d", 0)]
    with pytest.raises(DataError, match="train row 1: label must be 1"):
        to_examples([rows[0], {"premise": "p", "hypothesis": "h", "target": "yes"}], name="train")
    with pytest.raises(DataError, match="row 0: needs string 'document'"):
        to_examples([{"text": "x"}])
    with pytest.raises(DataError, match=r"Dataset\.from_jsonl"):
        to_examples("train.jsonl")
    pandas = pytest.importorskip("pandas")
    with pytest.raises(DataError, match=r"Dataset\.from_pandas\(df\)"):
        to_examples(pandas.DataFrame(rows))


def test_document_split_keeps_documents_whole_and_is_reproducible() -> None:
    examples = pairs(20)
    train, val = document_split(examples, 0.2, seed=3)
    assert len(train) + len(val) == len(examples)
    assert len(val) == 8  # 4 of 20 documents, two rows each
    assert not {e.document for e in train} & {e.document for e in val}
    assert document_split(examples, 0.2, seed=3) == (train, val)
    assert document_split(examples, 0.2, seed=4) != (train, val)
    with pytest.raises(DataError, match=r"at least 2 documents are needed; pass val= explicitly"):
        document_split(pairs(1), 0.5)


def test_content_hash_is_the_datasets_and_sees_label_changes() -> None:
    rows = pairs(5)
    assert content_hash(None, rows) == Dataset(rows).content_hash()
    assert content_hash(Dataset(rows), rows) == Dataset(rows).content_hash()
    flipped = [rows[0].model_copy(update={"label": 0}), *rows[1:]]
    assert content_hash(None, flipped) != content_hash(None, rows)


def test_prepare_splits_by_document_and_records_stats() -> None:
    ft = FineTuner("mistral:open-mistral-7b", api_key="test-key", val_size=0.2, seed=1)
    train, val = ft.prepare(pairs(20))
    assert val is not None
    assert train.stats.rows + val.stats.rows == 40
    assert not {e.document for e in train.examples} & {e.document for e in val.examples}
    assert train.stats.bytes == len(train.payload)
    assert train.stats.label_counts == {"consistent": 16, "inconsistent": 16}
    assert train.stats.split_from == val.stats.split_from == content_hash(None, pairs(20))
    assert train.stats.content_hash == content_hash(None, train.examples)
    assert train.payload.decode().splitlines()[0] == json.dumps(
        train.records[0], ensure_ascii=False, separators=(",", ":")
    )


def test_prepare_refuses_a_pair_in_both_splits() -> None:
    ft = FineTuner("mistral:open-mistral-7b", api_key="test-key")
    train = pairs(10)
    with pytest.raises(DataError, match="val row 1 is the same pair as train row 5"):
        ft.prepare(train, [pairs(12)[-1], train[5]])


def test_prepare_warns_on_documents_shared_by_train_and_val() -> None:
    ft = FineTuner("mistral:open-mistral-7b", api_key="test-key")
    train = pairs(10)
    doc = train[0].document
    val = [
        Example(document=doc, summary="Something else entirely.", label=0),
        Example(document=doc, summary="The council met.", label=1),
    ]
    with pytest.warns(UserWarning, match="1 documents appear in both train and val"):
        ft.prepare(train, val)


@pytest.mark.skipif(not (DATA / "fib" / "train.jsonl").exists(), reason="shared data absent")
def test_real_fib_rows_pass_validation() -> None:
    lines = (DATA / "fib" / "train.jsonl").read_text().splitlines()[:200]
    examples = to_examples([json.loads(line) for line in lines])
    records = build_records(examples, job_type="completion", strategy=get_prompt("fine-tune"))
    assert validate_records(records, job_type="completion") == {"1": 100, "0": 100}


# -- configuration ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "job_type", "expected"),
    [
        ("mistral:open-mistral-7b", None, ("open-mistral-7b", "completion", "fine-tune@2")),
        ("open-mistral-7b", None, ("open-mistral-7b", "completion", "fine-tune@2")),
        (
            "mistral-classifier:ministral-3b-latest",
            None,
            ("ministral-3b-latest", "classifier", None),
        ),
        ("mistral:ministral-3b-latest", "classifier", ("ministral-3b-latest", "classifier", None)),
    ],
)
def test_model_strings(model: str, job_type: str | None, expected: tuple[Any, ...]) -> None:
    ft = FineTuner(model, job_type=job_type, api_key="test-key")
    assert (ft.base_model, ft.job_type, ft.prompt) == expected


def test_bad_configuration_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MISTRAL_API_KEY", raising=False)
    monkeypatch.delenv("MISTRAL_SERVER_URL", raising=False)
    with pytest.raises(ConfigurationError, match="set the MISTRAL_API_KEY"):
        FineTuner("mistral:open-mistral-7b")
    with pytest.raises(ConfigurationError, match="cannot fine-tune 'openai:gpt-4o'"):
        FineTuner("openai:gpt-4o", api_key="k")
    with pytest.raises(ConfigurationError, match="needs out_dir="):
        FineTuner("local")
    with pytest.raises(ConfigurationError, match="job_type must be"):
        FineTuner("mistral:open-mistral-7b", job_type="regression", api_key="k")


def test_wandb_integration_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_PROJECT", "hallu")
    monkeypatch.setenv("WANDB_API_KEY", "k" * 40)
    assert wandb_integration() == {"type": "wandb", "project": "hallu", "api_key": "k" * 40}
    monkeypatch.setenv("WANDB_API_KEY", "short-secret")
    with pytest.raises(ConfigurationError, match="40 characters") as info:
        wandb_integration()
    assert "short-secret" not in str(info.value)
    monkeypatch.delenv("WANDB_API_KEY")
    with pytest.raises(ConfigurationError, match="set WANDB_API_KEY"):
        wandb_integration("p")


def test_api_key_never_in_repr() -> None:
    ft = FineTuner("mistral:open-mistral-7b", api_key="sk-very-secret-key")
    assert "sk-very-secret-key" not in repr(ft)
    assert "sk-very-secret-key" not in repr(ft._client)


# -- lineage ---------------------------------------------------------------------------------------


def test_lineage_round_trips_through_json(tmp_path: Path) -> None:
    stats = DataStats(
        content_hash="a" * 64, file_sha256="b" * 64, rows=10, bytes=1234,
        label_counts={"consistent": 5, "inconsistent": 5}, file_id="f-1",
    )  # fmt: skip
    lineage = Lineage(
        base_model="open-mistral-7b",
        fine_tuned_model="ft:open-mistral-7b:x:20261128:abcd",
        job_id="job-1",
        prompt="fine-tune@2",
        train=stats,
        hyperparameters={"training_steps": 10, "learning_rate": 1e-4},
        metrics={"valid_loss": 0.25},
    )
    path = lineage.to_json(tmp_path / "sub" / "lineage.json")
    assert Lineage.from_json(path) == lineage
    assert json.loads(path.read_text())["train"]["content_hash"] == "a" * 64
    path.write_text("{}")
    with pytest.raises(DataError, match="not a readable lineage"):
        Lineage.from_json(path)


def test_server_url_must_be_http() -> None:
    with pytest.raises(ConfigurationError, match=r"must start with http:// or https://"):
        FineTuner("mistral:open-mistral-7b", api_key="k", server_url="api.mistral.ai")
    ft = FineTuner("mistral:open-mistral-7b", api_key="k", server_url="http://127.0.0.1:9/v1/")
    assert ft._client is not None and ft._client.server_url == "http://127.0.0.1:9"
