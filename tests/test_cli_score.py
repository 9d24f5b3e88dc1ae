"""``hallujudge score``: readable and JSON output, exit codes, files and stdin, clear errors."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hallujudge import (
    AuthenticationError,
    Backend,
    FakeBackend,
    FunctionBackend,
    Request,
    Response,
    Span,
    Verdict,
)
from hallujudge._backends import _resolver
from hallujudge.cli import build_parser, main

DOC = "The Ellerby council voted on Tuesday to close the Mill Street library in March."
SUMMARY = "The library will close in May."
YES = '{"consistency": 1}'
NO = '{"consistency": 0}'


def use_backend(monkeypatch: pytest.MonkeyPatch, backend: Backend) -> str:
    """Register ``backend`` under a private prefix for this test; return its model string."""
    registry = dict(_resolver._BACKENDS)
    registry["clitest"] = lambda name, **options: backend
    monkeypatch.setattr(_resolver, "_BACKENDS", registry)
    return "clitest:x"


@pytest.fixture
def doc_file(tmp_path: Path) -> Path:
    path = tmp_path / "doc.txt"
    path.write_text(DOC, encoding="utf-8")
    return path


def scoring_backend(p: float, spans: tuple[Span, ...] = ()) -> FunctionBackend:
    def answer(request: Request) -> Response:
        return Response(text="", p_consistent=p, reason="the month differs", spans=spans)

    return FunctionBackend(answer, name="scorer", uses_prompt=False)


def test_default_model_is_local() -> None:
    args = build_parser().parse_args(["score", "--doc", "d.txt", "--summary", "s"])
    assert args.model == "local"
    assert args.prompt is None
    assert args.json is False


def test_consistent_exits_0_with_readable_output(
    doc_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["score", "--doc", str(doc_file), "--summary", SUMMARY, "--model", "fake"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("CONSISTENT")
    assert "model: fake" in out
    assert "prompt: zero-shot@2" in out
    assert "reason: fake backend: always consistent" in out


def test_inconsistent_exits_1_and_shows_score_reason_and_spans(
    doc_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    start = SUMMARY.index("May")
    span = Span(start=start, end=start + 3, text="May", note="month not in the document")
    model = use_backend(monkeypatch, scoring_backend(0.125, (span,)))
    code = main(["score", "--doc", str(doc_file), "--summary", SUMMARY, "--model", model])
    out = capsys.readouterr().out
    assert code == 1
    assert out.startswith("INCONSISTENT  p(consistent)=0.125")
    assert "reason: the month differs" in out
    assert f"[{start}:{start + 3}] 'May'  (month not in the document)" in out


def test_unscored_exits_2_and_says_why(
    doc_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    model = use_backend(monkeypatch, FakeBackend(["I'd rather talk about the weather."]))
    code = main(["score", "--doc", str(doc_file), "--summary", SUMMARY, "--model", model])
    out = capsys.readouterr().out
    assert code == 2
    assert out.startswith("UNSCORED")
    assert "unscored: no consistency label found" in out


def test_backend_failure_exits_2(
    doc_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    model = use_backend(monkeypatch, FakeBackend([AuthenticationError("HTTP 401: bad key")]))
    code = main(["score", "--doc", str(doc_file), "--summary", SUMMARY, "--model", model])
    assert code == 2
    assert "AuthenticationError: HTTP 401: bad key" in capsys.readouterr().out


def test_claims_sentence_lists_the_unsupported_sentence(
    doc_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def answer(request: Request) -> str:
        supported = request.example.summary.rstrip(".") in request.example.document
        return YES if supported else NO

    model = use_backend(monkeypatch, FunctionBackend(answer))
    summary = "The Ellerby council voted on Tuesday. The library will close in May."
    argv = ["score", "--doc", str(doc_file), "--summary", summary, "--model", model]
    code = main([*argv, "--claims", "sentence"])
    out = capsys.readouterr().out
    assert code == 1
    start = summary.index("The library")
    assert f"[{start}:{len(summary)}] 'The library will close in May.'" in out
    assert main(argv) == 1  # the whole summary is not in the document either


def test_threshold_option(
    doc_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    model = use_backend(monkeypatch, scoring_backend(0.4))
    argv = ["score", "--doc", str(doc_file), "--summary", SUMMARY, "--model", model]
    assert main(argv) == 1
    assert main([*argv, "--threshold", "0.3"]) == 0
    with pytest.raises(SystemExit) as info:  # the parser refuses it, in flag words
        main([*argv, "--threshold", "2"])
    assert info.value.code == 2
    assert "argument --threshold: must be a number in [0, 1]" in capsys.readouterr().err


def test_json_output_is_the_verdict(
    doc_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    span = Span(start=27, end=30, text="May")
    model = use_backend(monkeypatch, scoring_backend(0.25, (span,)))
    argv = ["score", "--doc", str(doc_file), "--summary", SUMMARY, "--model", model, "--json"]
    code = main(argv)
    out = capsys.readouterr().out
    assert code == 1
    data = json.loads(out)  # the whole of stdout is one JSON object
    assert data["label"] == "inconsistent"
    assert data["score"] == 0.25
    assert data["reason"] == "the month differs"
    assert data["model"] == "scorer"
    assert data["spans"] == [
        {"start": 27, "end": 30, "text": "May", "note": "", "target": "summary"}
    ]
    assert Verdict.model_validate(data).hallucinated is True


def test_json_unscored_keeps_the_error(
    doc_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    model = use_backend(monkeypatch, FakeBackend(["???"]))
    argv = ["score", "--doc", str(doc_file), "--summary", SUMMARY, "--model", model, "--json"]
    assert main(argv) == 2
    data = json.loads(capsys.readouterr().out)
    assert data["label"] == "unscored"
    assert data["raw"] == "???"
    assert data["error"]


def test_summary_file_and_prompt(
    doc_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary_file = tmp_path / "summary.txt"
    summary_file.write_text("Ünïcode summary — in March.", encoding="utf-8")
    fake = FakeBackend(["1"])
    model = use_backend(monkeypatch, fake)
    argv = ["score", "--doc", str(doc_file), "--summary-file", str(summary_file)]
    code = main([*argv, "--model", model, "--prompt", "fine-tune"])
    assert code == 0
    request = fake.requests[0]
    assert request.example.summary == "Ünïcode summary — in March."
    assert request.example.document == DOC
    assert "Answer 1 for consistent" in request.messages[-1]["content"]  # the fine-tune prompt


def test_document_from_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeBackend()
    model = use_backend(monkeypatch, fake)
    monkeypatch.setattr(sys, "stdin", io.StringIO(DOC + "\n"))
    code = main(["score", "--doc", "-", "--summary", SUMMARY, "--model", model])
    assert code == 0
    assert fake.requests[0].example.document == DOC + "\n"


def test_both_from_stdin_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["score", "--doc", "-", "--summary-file", "-", "--model", "fake"])
    assert code == 2
    assert "only one of --doc and --summary-file" in capsys.readouterr().err


@pytest.mark.parametrize("which", ["doc", "summary"])
def test_missing_file_exits_2_with_a_clear_message(
    which: str, doc_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(tmp_path / "nope.txt")
    if which == "doc":
        argv = ["score", "--doc", missing, "--summary", SUMMARY, "--model", "fake"]
        expected = f"document file not found: {missing!r}"
    else:
        argv = ["score", "--doc", str(doc_file), "--summary-file", missing, "--model", "fake"]
        expected = f"summary file not found: {missing!r}"
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert expected in captured.err
    assert "Traceback" not in captured.err


def test_unreadable_files_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    binary = tmp_path / "latin1.txt"
    binary.write_bytes("caf\xe9".encode("latin-1"))
    assert main(["score", "--doc", str(binary), "--summary", "s", "--model", "fake"]) == 2
    assert "not UTF-8" in capsys.readouterr().err
    assert main(["score", "--doc", str(tmp_path), "--summary", "s", "--model", "fake"]) == 2
    assert "directory" in capsys.readouterr().err


def test_bad_model_exits_2_with_suggestion(
    doc_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["score", "--doc", str(doc_file), "--summary", SUMMARY, "--model", "mistrl:x"]
    assert main(argv) == 2
    assert "Did you mean 'mistral:x'" in capsys.readouterr().err


def test_empty_summary_is_unscored(doc_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", "--doc", str(doc_file), "--summary", " ", "--model", "fake"]) == 2
    assert "summary is empty" in capsys.readouterr().out


def test_summary_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["score", "--doc", "d.txt"])
    assert info.value.code == 2
    assert "--summary" in capsys.readouterr().err


def _run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env: dict[str, Any] = {**os.environ, "HF_HUB_OFFLINE": "1", "WANDB_ERROR_REPORTING": "false"}
    return subprocess.run(
        [sys.executable, "-m", "hallujudge", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def test_real_subprocess_with_stdin_and_json() -> None:
    argv = ["score", "--doc", "-", "--summary", SUMMARY, "--model", "fake", "--json"]
    done = _run_cli(*argv, stdin=DOC)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["label"] == "consistent"
    assert data["model"] == "fake"
    assert data["prompt"] == "zero-shot@2"


def test_real_subprocess_missing_file() -> None:
    done = _run_cli("score", "--doc", "/nonexistent/doc.txt", "--summary", "s", "--model", "fake")
    assert done.returncode == 2
    assert "document file not found" in done.stderr
    assert "Traceback" not in done.stderr


# -- input budgets: flags, and unscored advice in the CLI's words ----------------------------


def test_max_input_chars_flag_refuses_and_the_reason_names_the_flag(
    doc_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    model = use_backend(monkeypatch, scoring_backend(0.9))
    argv = ["score", "--doc", str(doc_file), "--summary", SUMMARY, "--model", model]
    code = main([*argv, "--max-input-chars", "20"])
    out = capsys.readouterr().out
    assert code == 2
    assert f"the document is {len(DOC)} characters" in out
    assert "over --max-input-chars 20: split it, or raise --max-input-chars" in out
    assert "max_input_chars=" not in out  # Python advice a shell user cannot follow
    assert main([*argv, "--max-input-chars", str(len(DOC))]) == 0
    assert main([*argv, "--max-input-chars", "NONE"]) == 0


def test_max_calls_per_pair_flag_reaches_the_judge(
    doc_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    model = use_backend(monkeypatch, scoring_backend(0.9))
    summary = "The library will close. The vote was on Tuesday. Ellerby council voted."
    argv = ["score", "--doc", str(doc_file), "--summary", summary, "--model", model]
    assert main([*argv, "--claims", "sentence", "--max-calls-per-pair", "3"]) == 0
    capsys.readouterr()
    assert main([*argv, "--claims", "sentence", "--max-calls-per-pair", "2"]) == 2
    out = capsys.readouterr().out
    assert "would take 3 model calls, over --max-calls-per-pair 2" in out
    assert "max_calls_per_pair=" not in out


@pytest.mark.parametrize("value", ["0", "-5", "many", "1.5"])
def test_a_bad_budget_is_a_usage_error(
    value: str, doc_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["score", "--doc", str(doc_file), "--summary", "x", "--max-input-chars", value])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"--max-input-chars: must be a whole number of at least 1, or none, not {value!r}" in err


def test_eval_says_why_rows_are_unscored_in_flags(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    model = use_backend(monkeypatch, scoring_backend(0.9))
    rows = [
        {"premise": DOC, "hypothesis": SUMMARY, "target": 0},
        {"premise": "Short.", "hypothesis": "Short.", "target": 1},
        {"premise": DOC + " More.", "hypothesis": "x", "target": 1},
    ]
    data = tmp_path / "rows.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    argv = ["eval", str(data), "--model", model, "--no-cache", "--bootstrap", "0"]
    assert main([*argv, "--max-input-chars", "40"]) == 0
    err = capsys.readouterr().err
    assert "scorer: 2 of 3 rows unscored" in err
    assert f"  1 x the document is {len(DOC)} characters" in err
    assert f"  1 x the document is {len(DOC) + 6} characters" in err
    assert "over --max-input-chars 40" in err and "max_input_chars=" not in err
    assert main(argv) == 0  # the Judge's default budget: every row scored, nothing said
    assert "unscored" not in capsys.readouterr().err
