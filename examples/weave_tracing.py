"""Trace hallucination judges with W&B Weave, evaluate them in weave.Evaluation, compare two.

Online (your W&B account and Mistral key; traces appear in your Weave project):

    export WANDB_API_KEY=... MISTRAL_API_KEY=...
    python examples/weave_tracing.py --project my-team/hallujudge

Offline (CI): a local fake Weave trace server and a local fake Mistral API, both started in this
process from tests/fakes; nothing leaves 127.0.0.1, and the fake models' answers are simple
rules, not a model's:

    python examples/weave_tracing.py --offline

What it does:
1. traces one judgment: ``hallujudge.Judge.score`` with ``prompt.render``,
   ``backend.complete`` and ``prompt.parse`` inside, inputs, verdict, latency and tokens;
2. runs ``weave.Evaluation`` with ``hallujudge.weave.as_model(judge)`` and
   ``hallujudge.weave.scorers()`` for two judges and prints them side by side; one row is
   broken on purpose, and the summaries count it as ``failed`` instead of hiding it;
3. runs the library's own ``Evaluator`` (bootstrap intervals, paired test) with a
   ``WeaveCallback``, which logs each judge's run as a Weave evaluation with the same metrics.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

DOC_A = (
    "The city council approved a budget of 12 million dollars on Tuesday. The money will pay "
    "for road repairs and two new libraries, the mayor said."
)
DOC_B = (
    "Heavy rain flooded the river valley on Sunday night. About 300 people were moved to "
    "schools, and no one was hurt, police said."
)
PAIRS = [
    (DOC_A, "The council approved a 12 million dollar budget.", 1),
    (DOC_A, "The council approved a 15 million dollar budget.", 0),
    (DOC_A, "The budget pays for road repairs and libraries.", 1),
    (DOC_A, "The mayor resigned after the budget vote.", 0),
    (DOC_B, "About 300 people were moved after the flood.", 1),
    (DOC_B, "Three people died in the flood on Sunday.", 0),
    (DOC_B, "Rain flooded the valley on Sunday night.", 1),
    (DOC_B, "About 3000 people were moved to hotels.", 0),
]
SMALL, LARGE = "mistral:open-mistral-7b", "mistral:mistral-large-latest"


# -- offline stand-ins for the two models ------------------------------------------------------

_WORD = re.compile(r"[A-Za-z0-9]+")
_STOP = {"the", "a", "an", "of", "to", "and", "after", "on", "in", "for", "was", "were", "by"}


def _fake_mistral(body: dict[str, Any]) -> str:
    """Answer like a judge: 'small' checks only numbers, 'large' also content words."""
    prompt = str(body["messages"][-1]["content"])
    document = prompt.split("Document:", 1)[-1].split("Summary:", 1)[0].lower()
    summary = prompt.rsplit("Summary:", 1)[-1].split("\n\n", 1)[0].lower()
    known = {w[:5] for w in _WORD.findall(document)}  # 5-letter prefixes tolerate inflection
    words = _WORD.findall(summary)
    checked = [w for w in words if w.isdigit()]
    if "large" in str(body.get("model")):
        checked += [w for w in words if len(w) >= 5 and w not in _STOP]
    missing = sorted({w for w in checked if w[:5] not in known})
    reason = f"not in the document: {', '.join(missing)}" if missing else "all supported"
    return json.dumps({"consistency": 0 if missing else 1, "reason": reason})


def start_offline() -> list[Any]:
    """Start the fake trace server and the fake Mistral API; point the environment at them."""
    sys.path.insert(0, str(ROOT / "tests"))
    from fakes.mistral_server import MistralFakeServer
    from fakes.weave_server import FakeWeaveServer

    weave_server = FakeWeaveServer().start()
    mistral = MistralFakeServer(responder=_fake_mistral).start()
    os.environ.update(weave_server.env())
    os.environ["MISTRAL_SERVER_URL"] = mistral.url
    os.environ["MISTRAL_API_KEY"] = "offline-fake-mistral-key-0123456789"
    # weave.init asks pypi.org whether a newer weave exists; offline means offline.
    import weave.trace.init_message as init_message

    init_message._print_version_check = lambda: None  # type: ignore[attr-defined]
    print(f"offline: fake Weave at {weave_server.url}, fake Mistral at {mistral.url}")
    return [weave_server, mistral]


# -- the walk-through -----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offline", action="store_true", help="use in-process local fakes")
    parser.add_argument("--project", default="hallujudge-examples", help="Weave entity/project")
    args = parser.parse_args(argv)
    os.environ.setdefault("WANDB_ERROR_REPORTING", "false")
    servers = start_offline() if args.offline else []
    if not args.offline and not (
        os.environ.get("WANDB_API_KEY") and os.environ.get("MISTRAL_API_KEY")
    ):
        parser.error("set WANDB_API_KEY and MISTRAL_API_KEY (or pass --offline)")

    import weave

    from hallujudge import Example, Judge

    try:
        from hallujudge import Evaluator
    except ImportError:  # pragma: no cover - before the package root exports it
        from hallujudge._evaluator import Evaluator
    from hallujudge.weave import WeaveCallback, as_model, scorers, to_rows

    client = weave.init(args.project)
    try:
        small, large = Judge(SMALL), Judge(LARGE)

        # 1. One traced judgment.
        verdict = small.score(DOC_A, "The council approved a 15 million dollar budget.")
        print(f"\n1. traced judgment: {verdict.label} ({verdict.reason}), {verdict.usage}")

        # 2. weave.Evaluation with our model and scorers. The last row has no summary: its
        #    prediction raises, Weave swallows the error, and our summaries count it as failed.
        data = [
            Example(document=d, summary=s, label=y, id=f"p{i}") for i, (d, s, y) in enumerate(PAIRS)
        ]
        rows = [*to_rows(data), {"document": DOC_A, "label": 1, "id": "broken"}]
        evaluation = weave.Evaluation(dataset=rows, scorers=scorers(), name="hallujudge-demo")
        print(
            "\n2. weave.Evaluation of two judges; the row 'broken' has no summary on purpose, so "
            "Weave logs one 'model_output failed' traceback per judge below (expected)"
        )
        summaries = {
            judge.model: asyncio.run(evaluation.evaluate(as_model(judge)))
            for judge in (small, large)
        }
        print("\n   results (positive class = inconsistent; 'broken' counted as failed)")
        header = ("acc", "bal", "prec", "rec", "f1", "judged", "unscored", "failed")
        print(f"   {'judge':30s}" + "".join(f"{h:>9s}" for h in header))
        for model, s in summaries.items():
            prf = s["inconsistent_prf"]
            cells = [
                s["accuracy"]["accuracy"],
                s["balanced_accuracy"]["balanced_accuracy"],
                prf["precision"],
                prf["recall"],
                prf["f1"],
            ]
            shown = "".join(f"{'n/a':>9s}" if c is None else f"{c:9.2f}" for c in cells)
            counts = "".join(f"{prf[k]:9d}" for k in ("judged", "unscored", "failed"))
            print(f"   {model:30s}{shown}{counts}")

        # 3. The library's Evaluator, logged to Weave with the EvalReport's own metrics.
        callback = WeaveCallback()
        evaluator = Evaluator(
            data, cache=None, bootstrap=200, progress=False, callbacks=[callback], name="demo"
        )
        comparison = evaluator.run([small, large])
        print("\n3. Evaluator with WeaveCallback\n")
        print(comparison.to_markdown())
        print(f"\n   reports published: {callback.report_uris}")
        if callback.failures:
            print(f"   logging failures: {callback.failures}")
        small.close()
        large.close()
        client.flush()
    finally:
        weave.finish()
        for server in servers:
            server.stop()
    if servers:
        return check_offline(servers[0])
    return 0


def check_offline(weave_server: Any) -> int:
    """In offline mode, show what reached the trace server and check that nothing is missing."""
    ops = Counter(c["short_name"] for c in weave_server.calls())
    print("\nops received by the fake trace server:")
    for name, count in sorted(ops.items()):
        print(f"   {count:4d}  {name}")
    expected = {
        "hallujudge.Judge.score",
        "hallujudge.prompt.render",
        "hallujudge.backend.complete",
        "hallujudge.prompt.parse",
        "hallujudge.JudgeModel.predict",
        "hallujudge.Evaluator.run",
        "Evaluation.evaluate",
    }
    missing = expected - set(ops)
    leaked = os.environ["MISTRAL_API_KEY"] in weave_server.payload_text()
    if missing or leaked:
        print(f"FAILED: missing ops {sorted(missing)}; API key in a payload: {leaked}")
        return 1
    print("ok: every expected op arrived, and no API key is in any payload")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
