"""Cold start: ``import hallujudge`` against its base dependencies, and ``hallujudge score``.

Run from the repo root:  python benchmarks/startup.py [--runs 15]

Each row is a fresh interpreter (``python -c ...`` or the ``hallujudge`` command), run in
interleaved rounds so that machine load hits every row alike; the table shows the median wall
time of each row and, for imports, the time above a bare ``python -c pass``. The goal ratio is
``import hallujudge`` over ``import pydantic, httpx, numpy, tenacity`` (the base install's
dependencies), both measured above the bare interpreter, in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PY = sys.executable
SCORE = [PY, "-m", "hallujudge", "score", "--summary", "A dog sat on the mat.", "--doc"]

IMPORTS = {
    "python -c pass": "pass",
    "import pydantic, httpx, numpy, tenacity": "import pydantic, httpx, numpy, tenacity",
    "import hallujudge": "import hallujudge",
    "from hallujudge import Judge, Verdict": "from hallujudge import Judge, Verdict",
}


def _wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=False, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    doc = Path(tempfile.mkdtemp()) / "doc.txt"
    doc.write_text("The cat sat on the mat.", encoding="utf-8")
    rows = {name: [PY, "-c", code] for name, code in IMPORTS.items()}
    rows["hallujudge score --model local:gbm (base install's judge)"] = [
        *SCORE,
        str(doc),
        "--model",
        "local:gbm",
    ]
    rows["hallujudge score (default local judge)"] = [*SCORE, str(doc)]
    times: dict[str, list[float]] = {name: [] for name in rows}
    for _ in range(args.runs):
        for name, cmd in rows.items():
            times[name].append(_wall(cmd))
    median = {name: statistics.median(ts) for name, ts in times.items()}
    bare = median["python -c pass"]
    print(f"cold start, median of {args.runs} interleaved runs, {sys.version.split()[0]}")
    for name, value in median.items():
        above = f"  (+{(value - bare) * 1000:6.0f} ms above bare python)" if name in IMPORTS else ""
        print(f"  {name:58s} {value * 1000:7.0f} ms{above}")
    base = median["import pydantic, httpx, numpy, tenacity"] - bare
    ours = median["import hallujudge"] - bare
    judge = median["from hallujudge import Judge, Verdict"] - bare
    print(f"  import hallujudge / base dependencies: {ours / base:.2f}x (goal <= 1.3x)")
    print(f"  from hallujudge import Judge, Verdict / base dependencies: {judge / base:.2f}x")


if __name__ == "__main__":
    main()
