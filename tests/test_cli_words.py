"""CLI errors speak the command line's words: flags and environment variables, never ``name=``.

Library messages name the Python keyword that fixes a problem (``pass api_key=``); the CLI
rewords them with each command's flags. Each case runs the real command on bad input.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fakes.mistral_server import MistralFakeServer
from hallujudge.cli import main

# A keyword written as Python advice: ``out_dir=``, ``val_size=0``, ``base_url='http://...'``.
PYTHON_ADVICE = re.compile(r"(?<![\w./-])[a-z][a-z0-9_]*=")


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    err = capsys.readouterr().err
    return code, err


def assert_cli_words(err: str) -> None:
    assert err.startswith("hallujudge: error: "), err
    assert err.count("\n") == 1, err  # one line, no traceback
    assert not PYTHON_ADVICE.search(err), err


@pytest.fixture
def doc(tmp_path: Path) -> str:
    path = tmp_path / "doc.txt"
    path.write_text("The council closed the library.", encoding="utf-8")
    return str(path)


def test_a_missing_mistral_key_names_the_variable_not_the_keyword(
    doc: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run(["score", "--doc", doc, "--summary", "x", "--model", "mistral:m"], capsys)
    assert code == 2
    assert_cli_words(err)
    assert "set the MISTRAL_API_KEY environment variable" in err
    assert "transport" not in err  # an option the CLI does not have


def test_a_missing_openai_key_names_the_variable_and_the_base_url_flag(
    doc: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run(["score", "--doc", doc, "--summary", "x", "--model", "openai:m"], capsys)
    assert code == 2
    assert_cli_words(err)
    assert "set OPENAI_API_KEY;" in err
    assert "--base-url http://HOST:PORT/v1" in err


def test_a_bad_base_url_names_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["eval", "minimal-pairs", "--model", "openai:m", "--base-url", "ftp://x"]
    code, err = run([*argv, "--no-cache"], capsys)
    assert code == 2
    assert_cli_words(err)
    assert err.startswith("hallujudge: error: --base-url must start with http://")


def test_a_wrong_key_says_to_set_it_in_the_environment(
    doc: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = MistralFakeServer(api_key="the-right-key").start()
    try:
        monkeypatch.setenv("MISTRAL_SERVER_URL", server.url)
        monkeypatch.setenv("MISTRAL_API_KEY", "a-wrong-key")
        argv = ["score", "--doc", doc, "--summary", "x", "--model", "mistral:m", "--json"]
        code = main(argv)
        out = capsys.readouterr().out
    finally:
        server.stop()
    assert code == 2  # unscored: the reason is in the verdict
    assert "401" in out
    assert "api_key=" in out or "set it in the environment" in out


def test_local_fine_tuning_without_an_output_folder_names_the_flag(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, err = run(["finetune", "create", "minimal-pairs", "--model", "local"], capsys)
    assert code == 2
    assert_cli_words(err)
    assert "needs --out-dir" in err


def test_a_bad_validation_share_names_the_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["finetune", "create", "minimal-pairs", "--model", "local", "--val-size", "1.5"]
    code, err = run([*argv, "--out-dir", str(tmp_path / "m")], capsys)
    assert code == 2
    assert_cli_words(err)
    assert err.startswith("hallujudge: error: --val-size must lie in")


def test_the_wandb_project_names_the_flag_and_the_variable(
    capsys: pytest.CaptureFixture[str], mistral_env: MistralFakeServer
) -> None:
    code, err = run(["finetune", "create", "minimal-pairs", "--wandb"], capsys)
    assert code == 2
    assert_cli_words(err)
    assert "pass --wandb-project or set WANDB_PROJECT" in err


def test_a_bad_server_url_names_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(["finetune", "status", "job-1", "--server-url", "ftp://x"], capsys)
    assert code == 2
    assert_cli_words(err)
    assert "check --server-url or MISTRAL_SERVER_URL" in err


def rows(tmp_path: Path, n: int = 2, documents: int = 2) -> str:
    data = tmp_path / "rows.jsonl"
    rows = [
        f'{{"premise": "Cat {i % documents} sat on the mat.", "hypothesis": "A cat sat.", '
        f'"target": {i % 2}}}'
        for i in range(n)
    ]
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return str(data)


@pytest.mark.parametrize("command", ["eval", "datasets describe", "finetune estimate"])
def test_a_missing_column_names_the_column_flags(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    local = ["--model", "local", "--out-dir", str(tmp_path / "m")] if "finetune" in command else []
    code, err = run([*command.split(), rows(tmp_path), "--summary", "nope", *local], capsys)
    assert code == 2
    assert_cli_words(err)
    assert "--summary nope" in err
    assert "Pass --document, --summary, --label to name your columns." in err


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["eval", "minimal-pairs", "--concurrency", "0"], "--concurrency"),
        (["eval", "minimal-pairs", "--bootstrap", "-1"], "--bootstrap"),
        (["eval", "minimal-pairs", "--threshold", "nan"], "--threshold"),
        (["eval", "minimal-pairs", "--limit", "0"], "--limit"),
        (["score", "--doc", "d", "--summary", "s", "--threshold", "2"], "--threshold"),
    ],
)
def test_numeric_flags_are_checked_by_the_parser_in_flag_words(
    argv: list[str], flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag}: must be" in err


def test_a_split_that_cannot_be_made_names_the_flags(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["finetune", "estimate", rows(tmp_path, documents=1), "--model", "local"]
    code, err = run([*argv, "--out-dir", str(tmp_path / "m")], capsys)
    assert code == 2
    assert_cli_words(err)
    assert "pass --val explicitly, or --val-size 0 to train without validation" in err


def test_warnings_are_one_reworded_line_each(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = rows(tmp_path, n=12, documents=12)
    argv = ["finetune", "estimate", data, "--model", "local", "--val-size", "0.01"]
    assert main([*argv, "--out-dir", str(tmp_path / "m")]) == 0
    err = capsys.readouterr().err
    assert "hallujudge: warning: val labels are imbalanced" in err
    assert "UserWarning" not in err  # not Python's "file:line: UserWarning:" form
    assert not PYTHON_ADVICE.search(err)


def test_local_fine_tuning_says_where_the_model_is_and_how_to_use_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "judge"
    argv = ["finetune", "create", "minimal-pairs", "--model", "local", "--out-dir", str(out_dir)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"the trained judge was written to {out_dir}" in out
    assert f"--model local:{out_dir}" in out
    assert f"Judge('local:{out_dir}')" in out
    assert "finetune wait" not in out  # there is no job to wait for
    assert (out_dir / "model.npz").is_file()

    # What it says works: the model judges through --model local:DIR ...
    data = rows(tmp_path, n=4, documents=4)
    assert (
        main(["eval", data, "--model", f"local:{out_dir}", "--no-cache", "--bootstrap", "0"]) == 0
    )
    assert f"local:{out_dir}" in capsys.readouterr().out
    # ... and asking to wait on the local job id says why not, in CLI words.
    job_id = next(w for w in out.split() if w.startswith("local-"))
    code, err = run(["finetune", "wait", job_id], capsys)
    assert code == 2
    assert_cli_words(err)
    assert "use it with --model local:DIR" in err
