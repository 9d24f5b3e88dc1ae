"""Prompt strategies: rendering, fine-tuning targets, structured output, log-probability scores."""

from __future__ import annotations

import itertools
import json
import math
import re

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hallujudge import (
    ConfigurationError,
    Example,
    FakeBackend,
    Judge,
    Message,
    Response,
    TokenLogprob,
)
from hallujudge._prompts import (
    _REGISTRY,
    FineTunePrompt,
    JsonSchemaPrompt,
    OneShotPrompt,
    PromptStrategy,
    ReasonFirstPrompt,
    ZeroShotPrompt,
    available_prompts,
    get_prompt,
    register_prompt,
)

BUILT_IN = ["zero-shot", "one-shot", "fine-tune", "json-schema", "reason-first"]
# Text that breaks naive str.format / %-formatting / JSON templating if a strategy used them.
DOC = 'The council said {costs} were "2.4m" (100% of {0}) on 1 March.\n\nNew line: \\n ```json'
SUMMARY = "Costs were {costs} — 4.2m %s."


def test_built_ins_are_registered() -> None:
    assert set(BUILT_IN) <= set(available_prompts())
    assert available_prompts() == sorted(available_prompts())


@pytest.mark.parametrize("name", BUILT_IN)
def test_render_is_well_formed_and_verbatim(name: str) -> None:
    strategy = get_prompt(name)
    messages = strategy.render(Example(document=DOC, summary=SUMMARY))
    assert messages, "no messages"
    for message in messages:
        assert set(message) == {"role", "content"}
        assert message["role"] in ("system", "user", "assistant")
        assert isinstance(message["content"], str)
        assert message["content"].strip()
    assert messages[-1]["role"] == "user"
    assert DOC in messages[-1]["content"]
    assert SUMMARY in messages[-1]["content"]
    # Roles alternate after an optional system message (what chat APIs require).
    roles = [m["role"] for m in messages if m["role"] != "system"]
    assert all(a != b for a, b in itertools.pairwise(roles))
    assert all(m["role"] == "system" for m in messages[: len(messages) - len(roles)])


@pytest.mark.parametrize("name", BUILT_IN)
def test_name_and_version(name: str) -> None:
    strategy = get_prompt(name)
    assert strategy.name == name
    assert re.fullmatch(r"[\w.-]+", strategy.version)
    assert strategy.id == f"{name}@{strategy.version}"


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(BUILT_IN), st.text(min_size=1), st.text(min_size=1))
def test_render_keeps_any_text_verbatim(name: str, document: str, summary: str) -> None:
    messages = get_prompt(name).render(Example(document=document, summary=summary))
    assert document in messages[-1]["content"]
    assert summary in messages[-1]["content"]


def test_one_shot_includes_its_worked_example() -> None:
    messages = OneShotPrompt().render(Example(document=DOC, summary=SUMMARY))
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert "Ellerby" in messages[1]["content"]
    shot_answer = json.loads(messages[2]["content"])
    assert shot_answer["consistency"] == 0
    assert "2.4 million" in shot_answer["reason"]
    # the worked example's answer is itself readable by the strategy's parser
    assert OneShotPrompt().parse(messages[2]["content"]).label == "inconsistent"
    assert DOC not in messages[1]["content"]


def test_zero_shot_does_not_include_the_worked_example() -> None:
    text = " ".join(
        m["content"] for m in ZeroShotPrompt().render(Example(document="d", summary="s"))
    )
    assert "Ellerby" not in text


def test_fine_tune_target_is_a_digit() -> None:
    strategy = FineTunePrompt()
    assert strategy.target(Example(document="d", summary="s", label=1)) == "1"
    assert strategy.target(Example(document="d", summary="s", label=0)) == "0"
    assert len(strategy.render(Example(document="d", summary="s"))) == 1


@pytest.mark.parametrize("name", BUILT_IN)
@pytest.mark.parametrize("label", [0, 1])
def test_target_round_trips_through_parse(name: str, label: int) -> None:
    strategy = get_prompt(name)
    example = Example(document=DOC, summary=SUMMARY, label=label)
    verdict = strategy.parse(strategy.target(example))
    assert verdict.label == ("consistent" if label == 1 else "inconsistent")
    assert verdict.prompt == strategy.id


@pytest.mark.parametrize("name", BUILT_IN)
def test_target_needs_a_label(name: str) -> None:
    with pytest.raises(ConfigurationError, match="labelled"):
        get_prompt(name).target(Example(document="d", summary="s"))


def test_json_schema_response_format_is_a_valid_schema() -> None:
    fmt = JsonSchemaPrompt.response_format
    assert fmt is not None
    assert fmt["type"] == "json_schema"
    schema = fmt["json_schema"]["schema"]
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid({"consistency": 1, "reason": "fine"})
    assert not validator.is_valid({"consistency": 2, "reason": "x"})
    assert not validator.is_valid({"consistency": 1})
    # its own fine-tuning target would not satisfy "reason" required, but a full answer does
    answer = '{"consistency": 0, "reason": "the date differs"}'
    assert validator.is_valid(json.loads(answer))
    assert JsonSchemaPrompt().parse(answer).label == "inconsistent"


@pytest.mark.parametrize("cls", [ZeroShotPrompt, OneShotPrompt, ReasonFirstPrompt])
def test_json_strategies_ask_for_json_objects(cls: type[PromptStrategy]) -> None:
    assert cls.response_format == {"type": "json_object"}
    assert FineTunePrompt.response_format is None


def test_unknown_name_suggests_a_close_match() -> None:
    with pytest.raises(ConfigurationError, match=r"Did you mean 'zero-shot'\?") as info:
        get_prompt("zero-shoot")
    assert "one-shot" in str(info.value)  # lists what is available
    with pytest.raises(ConfigurationError, match="unknown prompt strategy"):
        get_prompt("completely-different")
    with pytest.raises(ConfigurationError, match="PromptStrategy"):
        get_prompt(42)  # type: ignore[arg-type]


class _YesNoPrompt(PromptStrategy):
    name = "yes-no"
    version = "3"

    def render(self, example: Example) -> list[Message]:
        return [{"role": "user", "content": f"{example.document}\n{example.summary}\nyes/no?"}]


def test_register_prompt_makes_a_name_selectable(monkeypatch: pytest.MonkeyPatch) -> None:
    # a copy of the registry, so the name does not leak into other tests
    monkeypatch.setattr("hallujudge._prompts._REGISTRY", dict(_REGISTRY))
    register_prompt("yes-no", _YesNoPrompt)
    assert "yes-no" in available_prompts()
    strategy = get_prompt("yes-no")
    assert isinstance(strategy, _YesNoPrompt)
    assert strategy.id == "yes-no@3"
    fake = FakeBackend(["Yes."])
    verdict = Judge(fake, prompt="yes-no").score("The sky is blue.", "The sky is blue.")
    assert verdict.label == "consistent"
    assert verdict.prompt == "yes-no@3"
    assert fake.requests[0].messages[0]["content"].endswith("yes/no?")


def test_register_prompt_rejects_bad_registrations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("hallujudge._prompts._REGISTRY", dict(_REGISTRY))
    with pytest.raises(ConfigurationError, match="non-empty"):
        register_prompt("", _YesNoPrompt)
    with pytest.raises(ConfigurationError, match="not an instance"):
        register_prompt("inst", _YesNoPrompt())  # type: ignore[arg-type]
    register_prompt("broken", lambda: "not a strategy")  # type: ignore[arg-type,return-value]
    with pytest.raises(ConfigurationError, match="returned str, not a PromptStrategy"):
        Judge(FakeBackend(), prompt="broken")


def test_custom_instance_is_used_as_is() -> None:
    strategy = _YesNoPrompt()
    assert get_prompt(strategy) is strategy
    fake = FakeBackend(["No"])
    judge = Judge(fake, prompt=strategy)
    assert judge.strategy is strategy
    verdict = judge.score("The sky is blue.", "The sky is green.")
    assert verdict.label == "inconsistent"
    assert fake.requests[0].response_format is None


# -- log-probability scores ---------------------------------------------------------------


def _tokens(pieces: list[str], label_index: int, p_one: float, p_zero: float) -> list[TokenLogprob]:
    out = [TokenLogprob(token=p, logprob=-0.01, top={p: -0.01}) for p in pieces]
    chosen = pieces[label_index]
    top = {"1": math.log(p_one), "0": math.log(p_zero)}
    out[label_index] = TokenLogprob(token=chosen, logprob=top[chosen.strip()], top=top)
    return out


def test_logprob_score_for_zero_shot_json() -> None:
    pieces = ['{"', "consistency", '":', " ", "1", ",", ' "', "reason", '":', ' "', "ok", '"}']
    text = "".join(pieces)
    score = ZeroShotPrompt().score_from_logprobs(text, _tokens(pieces, 4, 0.8, 0.15))
    assert score == pytest.approx(0.8 / 0.95)


def test_logprob_score_with_space_in_the_label_token() -> None:
    pieces = ['{"', "consistency", '":', " 0", "}"]
    text = "".join(pieces)
    out = [TokenLogprob(token=p, logprob=-0.01) for p in pieces]
    out[3] = TokenLogprob(
        token=" 0", logprob=math.log(0.7), top={" 0": math.log(0.7), " 1": math.log(0.2)}
    )
    assert ZeroShotPrompt().score_from_logprobs(text, out) == pytest.approx(0.2 / 0.9)


def test_logprob_score_for_fine_tune_digit() -> None:
    out = [TokenLogprob(token="1", logprob=math.log(0.9), top={"1": math.log(0.9)})]
    # only the chosen token is known: the rest of the mass is assumed to be the other label
    assert FineTunePrompt().score_from_logprobs("1", out) == pytest.approx(0.9)
    out = [TokenLogprob(token="0", logprob=math.log(0.6), top={"0": math.log(0.6)})]
    assert FineTunePrompt().score_from_logprobs("0", out) == pytest.approx(0.4)


def test_logprob_score_after_reasoning_reads_the_label_not_earlier_digits() -> None:
    pieces = ['{"', "reasoning", '":', ' "', "claim", " 1", " ok", '",', ' "', "consistency"]
    pieces += ['":', " ", "0", "}"]
    text = "".join(pieces)
    out = _tokens(pieces, 12, 0.3, 0.7)
    out[5] = TokenLogprob(token=" 1", logprob=math.log(0.99), top={" 1": math.log(0.99)})
    assert ReasonFirstPrompt().score_from_logprobs(text, out) == pytest.approx(0.3)


def test_logprob_score_ignores_the_key_word_inside_the_reasoning() -> None:
    pieces = ['{"', "reasoning", '":', ' "', "consistency", ":", " ", "0", " issues", '",', ' "']
    pieces += ["consistency", '":', " ", "1", "}"]
    text = "".join(pieces)
    out = _tokens(pieces, 14, 0.8, 0.2)
    out[7] = TokenLogprob(token="0", logprob=math.log(0.95), top={"0": math.log(0.95)})
    assert ReasonFirstPrompt().score_from_logprobs(text, out) == pytest.approx(0.8)


def test_logprob_score_none_when_label_shares_its_token() -> None:
    # " 1," merges the label with a comma; the "0" later in the reason must not be read as the
    # label (it was, before the fix, and flipped the verdict to inconsistent).
    pieces = ['{"', "consistency", '":', " 1,", ' "', "reason", '":', ' "', "costs", " ", "0"]
    pieces += [" pounds", '"}']
    text = "".join(pieces)
    out = [TokenLogprob(token=p, logprob=-0.1, top={p: -0.1}) for p in pieces]
    out[10] = TokenLogprob(token="0", logprob=math.log(0.9), top={"0": math.log(0.9)})
    assert ZeroShotPrompt().score_from_logprobs(text, out) is None


def test_logprob_score_none_without_logprobs_or_label() -> None:
    assert ZeroShotPrompt().score_from_logprobs('{"consistency": 1}', []) is None
    pieces = ["maybe", " later"]
    out = [TokenLogprob(token=p, logprob=-0.1) for p in pieces]
    assert ZeroShotPrompt().score_from_logprobs("maybe later", out) is None


def test_judge_uses_logprob_score_and_threshold() -> None:
    pieces = ['{"', "consistency", '":', " ", "1", "}"]
    text = "".join(pieces)
    response = Response(text=text, logprobs=tuple(_tokens(pieces, 4, 0.6, 0.4)))
    verdict = Judge(FakeBackend([response]), threshold=0.5).score("doc", "sum")
    assert verdict.score == pytest.approx(0.6)
    assert verdict.label == "consistent"
    response = Response(text=text, logprobs=tuple(_tokens(pieces, 4, 0.6, 0.4)))
    verdict = Judge(FakeBackend([response]), threshold=0.7).score("doc", "sum")
    assert verdict.score == pytest.approx(0.6)
    assert verdict.label == "inconsistent"
