"""Cascade trade-off on FIB val: share escalated to the LLM judge vs accuracy.

    python benchmarks/cascade.py

The cheap judge is the embedded local model. The LLM judge is *simulated* offline: it answers
correctly on a fixed, seeded 78% of rows (mistral-large's accuracy on the first 100 FIB val rows
in the reference notebook) and wrongly on the rest, independently of the local model's errors.
That independence is optimistic (real judges tend to fail on the same hard rows), so read the
curve as an upper bound on what a cascade saves. Needs ../shared/data; skips cleanly without it.
"""

from __future__ import annotations

import hashlib
import sys
import time
from pathlib import Path

from hallujudge import Cascade, Example, FunctionBackend, Judge, Request, Response

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fib" / "val.jsonl"
LLM_ACCURACY = 0.78


def load() -> list[Example]:
    import json

    rows = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
    return [
        Example(document=r["premise"], summary=r["hypothesis"], label=r["target"], id=r["id"])
        for r in rows
    ]


def simulated_llm(truth: dict[str, int]) -> Judge:
    def answer(request: Request) -> Response:
        key = request.example.document + "\x00" + request.example.summary
        label = truth[key]
        u = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        said = label if u < LLM_ACCURACY else 1 - label
        return Response(text=f'{{"consistency": {said}}}')

    return Judge(FunctionBackend(answer, name="simulated-llm-0.78"))


def accuracy(examples: list[Example], labels: list[str]) -> float:
    hits = sum(
        (lab == "consistent") == (ex.label == 1) for ex, lab in zip(examples, labels, strict=True)
    )
    return hits / len(examples)


def main() -> int:
    if not DATA.exists():
        print(f"skipped: {DATA} not found (the benchmark data lives in ../shared/data)")
        return 0
    examples = load()
    truth = {ex.document + "\x00" + ex.summary: int(ex.label or 0) for ex in examples}
    local, llm = Judge("local"), simulated_llm(truth)
    started = time.perf_counter()
    llm_alone = accuracy(examples, [v.label for v in llm.score_many(examples)])
    local_alone = accuracy(examples, [v.label for v in local.score_many(examples)])
    print(f"FIB val, {len(examples)} rows. Simulated LLM judge alone: {llm_alone:.3f}; "
          f"local alone: {local_alone:.3f}\n")  # fmt: skip
    print("| band | escalated | accuracy | vs LLM alone |")
    print("| --- | --- | --- | --- |")
    for half_width in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5):
        band = (0.5 - half_width, 0.5 + half_width)
        cascade = Cascade([local, llm], band=band)
        verdicts = cascade.score_many(examples)
        escalated = sum(v.meta["answered_by"] == 1 for v in verdicts) / len(verdicts)
        acc = accuracy(examples, [v.label for v in verdicts])
        print(f"| ({band[0]:.1f}, {band[1]:.1f}) | {escalated:.0%} | {acc:.3f} | "
              f"{acc - llm_alone:+.3f} |")  # fmt: skip
    print(f"\n(total {time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
