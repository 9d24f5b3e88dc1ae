"""The fine-tuning example's offline path shows fine-tuning helping, on documents it never saw."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "finetune_mistral.py"


def _load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("finetune_mistral_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_local_fine_tune_beats_the_shipped_judge_on_unseen_documents(tmp_path: Path) -> None:
    example = _load_example()
    train, test = example.generated_pairs(0, 80, seed=0), example.generated_pairs(1000, 30, seed=1)
    assert not {e.document for e in train} & {e.document for e in test}  # unseen documents
    comparison = example.local_fine_tune(tmp_path / "judge")
    shipped, tuned = comparison.reports
    assert shipped.accuracy is not None and tuned.accuracy is not None
    assert tuned.accuracy >= shipped.accuracy + 0.05
    ((_, _, paired),) = comparison.tests
    assert paired.n == len(test)  # every row scored by both
    assert paired.diff_low > 0 and paired.mcnemar_p < 0.05
