"""FineTuner end to end against the local fake Mistral API (real SDK for uploads, httpx for jobs).

Every request the library sends is validated against ``../shared/mistral/openapi.yaml`` by the
fake; the fixture fails the test if any request broke the spec.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from fakes.mistral_server import (
    INCONSISTENT_MARKER,
    MistralFakeServer,
    drop,
    rate_limited,
    server_error,
)
from hallujudge import (
    AuthenticationError,
    BackendConnectionError,
    BackendTimeoutError,
    BadRequestError,
    ConfigurationError,
    Dataset,
    Example,
    FineTuneError,
    FineTuner,
    Judge,
    Lineage,
    ServerError,
    get_prompt,
)

API_KEY = "test-mistral-key-0123456789"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[MistralFakeServer]:
    with MistralFakeServer(api_key=API_KEY) as fake:
        monkeypatch.setenv("MISTRAL_SERVER_URL", fake.url)
        monkeypatch.setenv("MISTRAL_API_KEY", API_KEY)
        yield fake
        assert fake.validation_errors == [], "a request broke the OpenAPI spec"
        assert fake.response_errors == []


def pairs(n_docs: int = 12) -> list[Example]:
    """Two summaries per document; the fake judges the marked ones inconsistent."""
    rows: list[Example] = []
    for d in range(n_docs):
        doc = f"Report {d}: the museum in town {d} reopened after {d + 2} years of repairs."
        rows.append(Example(document=doc, summary=f"Museum {d} reopened.", label=1))
        rows.append(
            Example(document=doc, summary=f"Museum {d} closed {INCONSISTENT_MARKER}.", label=0)
        )
    return rows


def tuner(**options: object) -> FineTuner:
    return FineTuner("mistral:open-mistral-7b", max_wait_s=0.05, **options)  # type: ignore[arg-type]


def uploaded_lines(server: MistralFakeServer, file_id: str) -> list[dict[str, object]]:
    content: bytes = server.files[file_id]["content"]
    return [json.loads(line) for line in content.decode().splitlines()]


# -- estimate, create, wait, judge -----------------------------------------------------------------


def test_estimate_is_a_dry_run_after_upload(server: MistralFakeServer) -> None:
    ft = tuner()
    estimate = ft.estimate(pairs(), training_steps=4, learning_rate=2e-5)
    dry = server.requests_to("/v1/fine_tuning/jobs")
    assert len(dry) == 1
    assert dry[0].query == {"dry_run": ["true"]}
    assert dry[0].body["hyperparameters"] == {"learning_rate": 2e-5, "training_steps": 4}
    assert estimate.training_steps == 4
    assert estimate.train_tokens == 4 * estimate.train_tokens_per_step
    assert estimate.data_tokens and estimate.data_tokens > 0
    assert estimate.cost is not None and estimate.cost_currency == "EUR"
    assert estimate.expected_duration_seconds == 48
    assert (estimate.train_rows, estimate.val_rows) == (22, 2)  # 1 of 12 documents held out
    assert "4 steps" in estimate.summary()
    uploads = server.requests_to("/v1/files")
    assert [u.body["purpose"] for u in uploads] == ["fine-tune", "fine-tune"]
    assert not server.jobs  # a dry run creates nothing


def test_create_wait_judge_evaluate(server: MistralFakeServer, tmp_path: Path) -> None:
    ft = tuner()
    train = pairs()
    ft.estimate(train, training_steps=3)
    job = ft.create(train, training_steps=3, suffix="hallu")
    assert len(server.requests_to("/v1/files")) == 2  # the estimate's uploads are reused
    created = server.requests_to("/v1/fine_tuning/jobs")[-1]
    assert created.query == {}
    body = created.body
    assert body["model"] == "open-mistral-7b"
    assert body["job_type"] == "completion"
    assert body["suffix"] == "hallu"
    assert body["auto_start"] is True
    assert "classifier_targets" not in body
    assert job.status == "QUEUED"

    job.wait(timeout=30, poll=0.01, progress=False)
    assert job.status == "SUCCESS"
    assert job.fine_tuned_model is not None
    assert job.fine_tuned_model.startswith("ft:open-mistral-7b:hallu:")
    assert [e.data["status"] for e in job.events if e.data] == [
        "QUEUED", "VALIDATING", "VALIDATED", "RUNNING", "SUCCESS",
    ]  # fmt: skip

    # The uploaded training file is exactly what the fine-tuned judge sends at inference.
    lineage = job.lineage
    train_lines = uploaded_lines(server, lineage["train"]["file_id"])
    judge = job.judge()
    assert judge.model == f"mistral:{job.fine_tuned_model}"
    assert judge.prompt == "fine-tune@2"
    assert judge.lineage == lineage
    val_lines = uploaded_lines(server, lineage["val"]["file_id"])
    held_out = {_canon(line["messages"][:-1]) for line in val_lines}  # type: ignore[index]
    strategy = get_prompt("fine-tune")
    examples = [e for e in train if _canon(strategy.render(e)) not in held_out]
    assert len(examples) == len(train_lines)
    verdicts = judge.score_many(examples[:6])
    chats = server.chat_requests
    assert len(chats) == 6
    sent = {_canon(c.body["messages"]) for c in chats}
    trained = {_canon(line["messages"][:-1]) for line in train_lines}  # type: ignore[index]
    assert sent <= trained
    assert all(c.body["model"] == job.fine_tuned_model for c in chats)
    # Evaluate: the fake answers by the marker, so the judge matches the labels.
    assert [v.label for v in verdicts] == [
        "consistent" if e.label == 1 else "inconsistent" for e in examples[:6]
    ]

    # Lineage: hashes and sizes of both files, prompt, hyperparameters, metrics; round-trips.
    assert lineage["prompt"] == "fine-tune@2"
    assert lineage["fine_tuned_model"] == job.fine_tuned_model
    assert lineage["train"]["rows"] == len(train_lines)
    assert lineage["train"]["bytes"] == len(server.files[lineage["train"]["file_id"]]["content"])
    assert lineage["hyperparameters"]["training_steps"] == 3
    assert lineage["metrics"]["valid_loss"] == pytest.approx(0.25)
    path = job.save_lineage(tmp_path / "lineage.json")
    assert Lineage.from_json(path).to_dict() == lineage


def _canon(value: object) -> str:
    return json.dumps(value, sort_keys=True)


def test_dataset_hash_is_kept_when_validation_is_given(server: MistralFakeServer) -> None:
    train = Dataset(pairs(12))
    val = Dataset(pairs(14)[24:])
    job = tuner().create(train, val, epochs=2.0)
    assert job.lineage["train"]["content_hash"] == train.content_hash()
    assert job.lineage["val"]["content_hash"] == val.content_hash()
    assert server.requests_to("/v1/fine_tuning/jobs")[-1].body["hyperparameters"]["epochs"] == 2


async def test_async_api_and_get_job_resume(server: MistralFakeServer) -> None:
    ft = tuner(val_size=0.0)
    job = await ft.acreate(pairs(), training_steps=2)
    assert server.requests_to("/v1/fine_tuning/jobs")[-1].body.get("validation_files") is None
    again = await FineTuner.aget_job(job.id)  # as another process would
    assert again.id == job.id
    await again.await_done(timeout=30, poll=0.01, progress=False)
    assert again.status == "SUCCESS"
    judge = again.judge()
    assert judge.prompt == "fine-tune@2"
    assert judge.lineage["job_id"] == job.id
    verdict = await judge.ascore("The museum reopened.", f"It closed {INCONSISTENT_MARKER}.")
    assert verdict.label == "inconsistent"


def test_judge_from_job_uses_the_saved_lineage(server: MistralFakeServer, tmp_path: Path) -> None:
    job = tuner().create(pairs(), training_steps=2)
    path = job.save_lineage(tmp_path / "lineage.json")
    job.wait(poll=0.01, progress=False)
    judge = Judge.from_job(job.id, lineage=path)
    assert isinstance(judge, Judge)
    assert judge.lineage["train"]["content_hash"] == job.lineage["train"]["content_hash"]
    assert judge.lineage["fine_tuned_model"] == job.fine_tuned_model
    assert judge.score("A museum reopened.", "A museum reopened.").label == "consistent"


def test_judge_before_success_says_to_wait(server: MistralFakeServer) -> None:
    job = tuner().create(pairs(), training_steps=2)
    with pytest.raises(FineTuneError, match=r"is QUEUED, not finished: call job\.wait\(\)"):
        job.judge()


def test_auto_start_false_waits_for_start(server: MistralFakeServer) -> None:
    job = tuner().create(pairs(), training_steps=2, auto_start=False)
    assert server.requests_to("/v1/fine_tuning/jobs")[-1].body["auto_start"] is False
    with pytest.raises(ConfigurationError, match=r"validated and waits to be started"):
        job.wait(poll=0.01, progress=False)
    assert job.status == "VALIDATED"
    job.start()
    assert job.status == "STARTED"
    job.wait(poll=0.01, progress=False)
    assert job.status == "SUCCESS"


# -- failures --------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["FAILED", "FAILED_VALIDATION"])
def test_failed_job_raises_with_the_jobs_own_message(
    server: MistralFakeServer, status: str
) -> None:
    server.fail_next_job(status, "loss became NaN at step 3")
    job = tuner().create(pairs(), training_steps=5)
    with pytest.raises(FineTuneError, match=f"{status}: loss became NaN at step 3") as info:
        job.wait(poll=0.01, progress=False)
    assert info.value.job_id == job.id
    assert info.value.status == status
    with pytest.raises(FineTuneError, match="loss became NaN"):
        job.judge()


def test_cancelled_job_raises(server: MistralFakeServer) -> None:
    job = tuner().create(pairs(), training_steps=5)
    job.cancel()
    assert job.status == "CANCELLATION_REQUESTED"
    assert server.requests_to(f"/v1/fine_tuning/jobs/{job.id}/cancel")
    with pytest.raises(FineTuneError, match=f"job {job.id} CANCELLED") as info:
        job.wait(poll=0.01, progress=False)
    assert info.value.status == "CANCELLED"


def test_polling_survives_503_and_429(server: MistralFakeServer) -> None:
    job = tuner().create(pairs(), training_steps=2)
    server.enqueue(
        server_error(503), rate_limited(retry_after=0.01), server_error(500),
        path=f"/v1/fine_tuning/jobs/{job.id}",
    )  # fmt: skip
    job.wait(timeout=30, poll=0.01, progress=False)
    assert job.status == "SUCCESS"
    gets = server.requests_to(f"/v1/fine_tuning/jobs/{job.id}", method="GET")
    assert len(gets) == 4 + 3  # four status steps plus the three transient failures


def test_upload_retries_a_rate_limit(server: MistralFakeServer) -> None:
    server.enqueue(rate_limited(retry_after=0.01), path="/v1/files")
    job = tuner(val_size=0.0).create(pairs(), training_steps=2)
    assert len(server.requests_to("/v1/files")) == 2
    assert server.jobs[job.id]["training_files"] == job.info.training_files


def test_create_is_not_retried_after_a_server_error(server: MistralFakeServer) -> None:
    server.enqueue(server_error(500), path="/v1/fine_tuning/jobs")
    with pytest.raises(Exception, match="HTTP 500"):
        tuner(val_size=0.0).create(pairs(), training_steps=2)
    assert not server.jobs  # nothing was created twice behind the user's back


def test_wait_times_out_while_the_api_keeps_failing(server: MistralFakeServer) -> None:
    job = FineTuner("mistral:open-mistral-7b", max_wait_s=0.01, max_attempts=1).create(
        pairs(), training_steps=2
    )
    server.enqueue(*[server_error(503)] * 200, path=f"/v1/fine_tuning/jobs/{job.id}")
    with pytest.raises(BackendTimeoutError, match=r"still QUEUED after 0\.3 s; it keeps running"):
        job.wait(timeout=0.3, poll=0.02, progress=False)


def test_unknown_job_is_a_clear_error(server: MistralFakeServer) -> None:
    with pytest.raises(BadRequestError, match=r"HTTP 404.*not found"):
        FineTuner.get_job("00000000-0000-4000-8000-000000000000")


def test_wrong_key_is_an_authentication_error(server: MistralFakeServer) -> None:
    ft = FineTuner("mistral:open-mistral-7b", api_key="wrong-key", max_wait_s=0.01)
    with pytest.raises(AuthenticationError) as info:
        ft.create(pairs(), training_steps=2)
    assert "wrong-key" not in str(info.value)


def test_invalid_data_is_refused_before_any_upload(server: MistralFakeServer) -> None:
    rows = pairs()
    rows.append(rows[3])
    with pytest.raises(Exception, match=r"duplicates row 3"):
        tuner(val_size=0.0).create(rows, training_steps=2)
    assert server.requests == []


def test_bad_hyperparameters(server: MistralFakeServer) -> None:
    with pytest.raises(ConfigurationError, match="not both"):
        tuner().create(pairs(), training_steps=2, epochs=1.0)
    with pytest.raises(ConfigurationError, match="suffix must have 1 to 18"):
        tuner().create(pairs(), suffix="x" * 19)
    assert server.requests == []


# -- Weights & Biases ------------------------------------------------------------------------------


def test_wandb_integration_key_never_logged(
    server: MistralFakeServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "w" * 32 + "SECRETKY"
    monkeypatch.setenv("WANDB_API_KEY", secret)
    monkeypatch.setenv("WANDB_PROJECT", "hallu-judges")
    with caplog.at_level(logging.DEBUG, logger="hallujudge"):
        job = tuner().create(pairs(), training_steps=2, wandb_project=True, wandb_run_name="r1")
        job.wait(poll=0.01, progress=False)
    sent = server.requests_to("/v1/fine_tuning/jobs")[-1].body["integrations"]
    assert sent == [
        {"type": "wandb", "project": "hallu-judges", "api_key": secret, "run_name": "r1"}
    ]
    assert "hallu-judges" in caplog.text  # the payload was logged ...
    assert secret not in caplog.text  # ... without the key
    assert secret not in repr(job) and secret not in json.dumps(job.lineage)
    assert job.info.integrations and job.info.integrations[0]["project"] == "hallu-judges"


# -- classifier fine-tunes -------------------------------------------------------------------------


def test_classifier_fine_tune_scores_through_classifications(server: MistralFakeServer) -> None:
    ft = FineTuner("mistral-classifier:ministral-3b-latest", max_wait_s=0.05)
    assert ft.prompt is None
    train = pairs()
    job = ft.create(train, training_steps=2)
    body = server.requests_to("/v1/fine_tuning/jobs")[-1].body
    assert body["job_type"] == "classifier"
    assert body["classifier_targets"] == [
        {
            "name": "consistency",
            "labels": ["consistent", "inconsistent"],
            "weight": 1.0,
            "loss_function": "single_class",
        }
    ]
    lines = uploaded_lines(server, job.lineage["train"]["file_id"])
    lines += uploaded_lines(server, job.lineage["val"]["file_id"])
    job.wait(poll=0.01, progress=False)
    judge = job.judge()
    assert judge.model == f"mistral-classifier:{job.fine_tuned_model}"
    assert judge.lineage["job_type"] == "classifier"
    verdicts = judge.score_many(train[:4])
    classify = server.requests_to("/v1/classifications")
    assert len(classify) == 4
    assert not server.chat_requests
    sent = sorted(json.dumps(r.body["input"]) for r in classify)  # concurrent: any order
    assert [v.label for v in verdicts] == ["consistent", "inconsistent"] * 2
    assert all(v.score is not None for v in verdicts)
    assert verdicts[0].score == pytest.approx(0.9)
    assert verdicts[1].score == pytest.approx(0.1)
    # Training rows carry exactly the text the classifier judge sends at inference, one pair at
    # a time here so that each request is known to be that pair's.
    inputs = []
    for e in train:
        judge.score(e.document, e.summary)
        (text,) = server.requests_to("/v1/classifications")[-1].body["input"]
        inputs.append(text)
    assert sent == sorted(json.dumps([text]) for text in inputs[:4])
    expected = {
        text: ("consistent", "inconsistent")[1 - (e.label or 0)]
        for text, e in zip(inputs, train, strict=True)
    }
    assert {line["text"]: line["labels"]["consistency"] for line in lines} == expected  # type: ignore[index]


# -- local -----------------------------------------------------------------------------------------


def test_local_fine_tune_dispatches_to_the_embedded_trainer(tmp_path: Path) -> None:
    ft = FineTuner("local", out_dir=tmp_path / "model", val_size=0.0)
    job = ft.create(pairs(15))
    assert job.status == "SUCCESS"
    assert (tmp_path / "model" / "metadata.json").is_file()
    judge = job.judge()
    assert judge.model == f"local:{tmp_path / 'model'}"
    assert judge.lineage["backend"] == "local"
    verdict = judge.score("The museum in town 3 reopened.", "The museum reopened.")
    assert verdict.score is not None
    with pytest.raises(ConfigurationError, match="runs in-process"):
        job.cancel()


# -- CLI -------------------------------------------------------------------------------------------


def _write_pairs(path: Path, rows: list[Example]) -> Path:
    lines = [
        json.dumps({"premise": e.document, "hypothesis": e.summary, "target": e.label})
        for e in rows
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_cli_estimate_create_status_wait_cancel(
    server: MistralFakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from hallujudge.cli import main

    train = _write_pairs(tmp_path / "train.jsonl", pairs())
    lineage = tmp_path / "lineage.json"
    assert main(["finetune", "estimate", str(train), "--training-steps", "3", "--json"]) == 0
    estimate = json.loads(capsys.readouterr().out)
    assert (estimate["training_steps"], estimate["train_rows"]) == (3, 22)

    args = ["finetune", "create", str(train), "--epochs", "2", "--suffix", "cli"]
    assert main([*args, "--lineage", str(lineage), "--json"]) == 0
    created = json.loads(capsys.readouterr().out)
    job_id = created["id"]
    assert server.jobs[job_id]["hyperparameters"]["epochs"] == 2
    saved = json.loads(lineage.read_text())
    assert saved["train"]["rows"] == 22 and saved["fine_tuned_model"] is None

    assert main(["finetune", "status", job_id]) == 0
    assert f"job {job_id}: VALIDATING" in capsys.readouterr().out

    assert main(["finetune", "wait", job_id, "--poll", "0.01", "--lineage", str(lineage)]) == 0
    out = capsys.readouterr().out
    assert "SUCCESS" in out and "Judge('ft:open-mistral-7b:cli:" in out
    done = json.loads(lineage.read_text())
    assert done["fine_tuned_model"].startswith("ft:open-mistral-7b:cli:")
    assert done["train"] == saved["train"]  # hashes kept across "processes"

    second = main(["finetune", "create", str(train), "--training-steps", "2", "--json"])
    assert second == 0
    other = json.loads(capsys.readouterr().out)["id"]
    assert main(["finetune", "cancel", other]) == 0
    assert "CANCELLATION_REQUESTED" in capsys.readouterr().out
    assert main(["finetune", "wait", other, "--poll", "0.01"]) == 1
    assert "CANCELLED" in capsys.readouterr().err

    held = main(["finetune", "create", str(train), "--training-steps", "2", "--no-auto-start"])
    assert held == 0
    (held_id,) = (j for j in server.jobs if j not in (job_id, other))
    assert main(["finetune", "wait", held_id, "--poll", "0.01"]) == 2  # waits for start
    assert "waits to be started" in capsys.readouterr().err
    assert main(["finetune", "start", held_id]) == 0
    assert f"job {held_id}: STARTED" in capsys.readouterr().out
    assert main(["finetune", "wait", held_id, "--poll", "0.01"]) == 0


def test_cli_failed_job_and_bad_data_exit_codes(
    server: MistralFakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from hallujudge.cli import main

    train = _write_pairs(tmp_path / "train.jsonl", pairs())
    server.fail_next_job("FAILED", "out of memory on step 2")
    code = main(
        ["finetune", "create", str(train), "--training-steps", "3", "--wait", "--poll", "0.01"]
    )
    assert code == 1
    assert "out of memory on step 2" in capsys.readouterr().err
    short = _write_pairs(tmp_path / "short.jsonl", pairs(2))
    assert main(["finetune", "create", str(short), "--val-size", "0"]) == 2
    assert "train has 4 rows; fine-tuning needs at least 10" in capsys.readouterr().err


# -- the example -----------------------------------------------------------------------------------


def test_example_runs_offline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "examples" / "finetune_mistral.py"
    spec = importlib.util.spec_from_file_location("finetune_example", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # The example sets these for its own fake server; let monkeypatch restore them afterwards.
    monkeypatch.setenv("MISTRAL_SERVER_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("MISTRAL_API_KEY", "placeholder")
    assert module.main(["--offline", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "| metric | mistral:open-mistral-7b (zero-shot@2) |" in out
    assert out.count("(fine-tune@2)") >= 2
    lineages = sorted(p.name for p in tmp_path.glob("lineage-*.json"))
    assert lineages == ["lineage-fib.json", "lineage-usb-fib.json"]
    mixed = Lineage.from_json(tmp_path / "lineage-usb-fib.json")
    fib = Lineage.from_json(tmp_path / "lineage-fib.json")
    assert mixed.train is not None and fib.train is not None
    assert mixed.train.rows > fib.train.rows
    assert mixed.train.content_hash != fib.train.content_hash


# -- listing, progress, options --------------------------------------------------------------------


def test_list_jobs_and_events(server: MistralFakeServer) -> None:
    ft = tuner()
    first = ft.create(pairs(), training_steps=2)
    ft.create(pairs(), training_steps=3, suffix="second")
    listed = ft.list_jobs(model="open-mistral-7b")
    assert {j.id for j in listed} == set(server.jobs)
    assert server.requests_to("/v1/fine_tuning/jobs", method="GET")[-1].query == {
        "model": ["open-mistral-7b"]
    }
    first.refresh()
    assert [e.name for e in first.events] == ["status-updated", "status-updated"]
    assert first.status == "VALIDATING"


def test_progress_lines_go_to_stderr(
    server: MistralFakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    job = tuner().create(pairs(), training_steps=2)
    job.wait(poll=0.01)
    captured = capsys.readouterr()
    assert captured.out == ""
    for status in ("VALIDATING", "RUNNING", "SUCCESS"):
        assert f"job {job.id} · {status}" in captured.err
    assert "valid_loss 0.25" in captured.err


def test_judge_options_pass_through(server: MistralFakeServer) -> None:
    job = tuner().create(pairs(), training_steps=2)
    job.wait(poll=0.01, progress=False)
    judge = job.judge(concurrency=3, threshold=0.7)
    assert (judge.concurrency, judge.threshold, judge.prompt) == (3, 0.7, "fine-tune@2")
    other = job.judge(prompt="zero-shot")  # the caller may override, knowingly
    assert other.prompt == "zero-shot@2"


# -- live (real API; skipped without a key) --------------------------------------------------------


DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.mark.live
@pytest.mark.skipif(not (DATA / "fib" / "train.jsonl").exists(), reason="shared data absent")
def test_live_estimate_is_a_free_dry_run() -> None:
    import os

    if not os.environ.get("MISTRAL_API_KEY"):
        pytest.skip("MISTRAL_API_KEY is not set")
    train = Dataset.from_jsonl(DATA / "fib" / "train.jsonl").head(40)
    estimate = FineTuner("mistral:open-mistral-7b").estimate(train, training_steps=10)
    assert estimate.training_steps == 10
    assert estimate.train_tokens and estimate.train_tokens > 0


def test_progress_without_rich_prints_plain_lines(
    server: MistralFakeServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "rich.console", None)  # import fails as if not installed
    job = tuner().create(pairs(), training_steps=2)
    job.wait(poll=0.01)
    err = capsys.readouterr().err
    assert f"fine-tune job {job.id} · SUCCESS" in err


def test_upload_failures_are_mapped_after_retries(server: MistralFakeServer) -> None:
    ft = FineTuner("mistral:open-mistral-7b", max_attempts=2, max_wait_s=0.01, val_size=0.0)
    server.enqueue(server_error(503), server_error(503), path="/v1/files")
    with pytest.raises(ServerError, match="503"):
        ft.create(pairs(), training_steps=2)
    assert len(server.requests_to("/v1/files")) == 2
    server.enqueue(drop(), drop(), path="/v1/files")
    with pytest.raises(BackendConnectionError):
        ft.create(pairs(), training_steps=2)
    assert not server.jobs


def test_local_model_string_names_the_directory(tmp_path: Path) -> None:
    ft = FineTuner(f"local:{tmp_path / 'judge'}", val_size=0.0)
    estimate = ft.estimate(pairs(15))
    assert (estimate.cost, estimate.train_rows, estimate.job_type) == (0.0, 30, "local")
    job = ft.create(pairs(15))
    assert job.fine_tuned_model == str(tmp_path / "judge")
    with pytest.raises(ConfigurationError, match="job_type applies to Mistral"):
        FineTuner("local:x", job_type="classifier")


def test_custom_prompt_strategy_instance_is_used_by_the_judge(server: MistralFakeServer) -> None:
    class Terse(type(get_prompt("fine-tune"))):  # a subclass of the built-in fine-tune prompt
        name = "terse-custom"  # not registered: the instance itself must travel to the judge
        version = "3"

    job = tuner(prompt=Terse()).create(pairs(), training_steps=2)
    job.wait(poll=0.01, progress=False)
    judge = job.judge()
    assert judge.prompt == "terse-custom@3"
    assert job.lineage["prompt"] == "terse-custom@3"


def test_resuming_with_a_changed_prompt_version_warns(
    server: MistralFakeServer, tmp_path: Path
) -> None:
    job = tuner().create(pairs(), training_steps=2)
    lineage = job.lineage_record.model_copy(update={"prompt": "fine-tune@0"})
    with pytest.warns(UserWarning, match=r"trained with the prompt fine-tune@0 but .* fine-tune@2"):
        FineTuner.get_job(job.id, lineage=lineage)


def test_finetuner_needs_no_key_with_a_custom_server_as_the_judge(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MISTRAL_API_KEY", raising=False)
    monkeypatch.delenv("MISTRAL_SERVER_URL", raising=False)
    with MistralFakeServer() as fake:  # a keyless server
        ft = FineTuner("mistral:open-mistral-7b", server_url=fake.url, max_wait_s=0.05)
        estimate = ft.estimate(pairs(), training_steps=10)
        assert estimate.training_steps == 10
        assert all("authorization" not in r.headers for r in fake.requests)
        assert Judge("mistral:open-mistral-7b", server_url=fake.url).score("a b", "a").scored
    # the official API still needs a key, with the same message as the Judge's
    with pytest.raises(ConfigurationError, match="MISTRAL_API_KEY") as caught:
        FineTuner("mistral:open-mistral-7b")
    with pytest.raises(ConfigurationError) as judge_caught:
        Judge("mistral:open-mistral-7b")
    assert str(caught.value) == str(judge_caught.value)


def test_a_password_in_the_server_url_stays_out_of_reprs() -> None:
    ft = FineTuner("mistral:open-mistral-7b", server_url="https://user:s3cr3tpw@proxy.example")
    assert ft._client is not None
    for text in (repr(ft), repr(ft._client), repr(ft._client.connection), ft._client.server_url):
        assert "s3cr3tpw" not in text
    assert ft._client.server_url == "https://proxy.example"
    judge = Judge("mistral:open-mistral-7b", server_url="https://user:s3cr3tpw@proxy.example")
    assert "s3cr3tpw" not in repr(judge.backend)


@pytest.mark.parametrize(
    "model", ["mistrall:open-mistral-7b", "gpt-4o", "Mistral Large", "opnai:gpt-4o", " "]
)
def test_finetuner_reads_a_bad_model_string_as_the_judge_does(model: str) -> None:
    with pytest.raises(ConfigurationError) as judge_caught:
        Judge(model, api_key="k")
    with pytest.raises(ConfigurationError) as tuner_caught:
        FineTuner(model, api_key="k")
    assert str(tuner_caught.value) == str(judge_caught.value)


@pytest.mark.parametrize("model", ["mistral-large-latest", "mistral:open-mistral-7b"])
def test_finetuner_and_judge_resolve_to_one_model_and_one_connection(model: str) -> None:
    url = "http://127.0.0.1:9"  # never called: construction only
    ft = FineTuner(model, api_key="k", server_url=url)
    judge = Judge(model, api_key="k", server_url=url)
    assert judge.model == f"mistral:{ft.base_model}"
    assert ft._client is not None
    connection = ft._client.connection
    assert connection.server_url == judge.backend.server_url  # type: ignore[attr-defined]
    # the rate state (adaptive limit, token budget) of one server and key is shared
    assert connection.call_limit is judge.backend.call_limit
