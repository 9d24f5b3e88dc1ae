"""``hallujudge datasets``: describe, split, convert, synthesize and export datasets.

Every subcommand reads its input with :meth:`Dataset.load`: ``.jsonl``/``.json``/``.csv``/
``.parquet`` files (FIB multiple-choice and USB factuality rows are recognised) or a hub name.
Column options (``--document`` ...) map other column names onto the pair format.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .._errors import DataError
from . import COLUMN_WORDS, column_arguments, column_mapping

__all__ = ["register"]

_WORDS = {
    **COLUMN_WORDS,
    "test_size": "--test-size",
    "seed": "--seed",
    "prompt": "--prompt",
    "ratio": "--ratio",
}


def register(subparsers: Any) -> None:
    """Add the ``datasets`` subcommand and its actions."""
    columns = column_arguments()

    parser = subparsers.add_parser(
        "datasets",
        help="describe, split, convert and export datasets",
        description="Inspect and prepare (document, summary, label) datasets.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    parser.set_defaults(handler=lambda _args: _usage(parser), words=_WORDS)

    describe = actions.add_parser(
        "describe", parents=[columns], help="rows, labels, documents, sources and content hash"
    )
    describe.add_argument("files", nargs="+", metavar="FILE", help="data file(s) or hub names")
    describe.add_argument("--json", action="store_true", help="print one JSON object per file")
    describe.set_defaults(handler=_describe)

    split = actions.add_parser(
        "split", parents=[columns], help="split by document into train.jsonl and test.jsonl"
    )
    split.add_argument("file", metavar="FILE")
    split.add_argument("--test-size", type=float, default=0.2, help="share of documents (0.2)")
    split.add_argument("--seed", type=int, default=0, help="random seed (0)")
    split.add_argument("--out-dir", type=Path, required=True, help="folder for the two files")
    split.add_argument("--force", action="store_true", help="overwrite existing files")
    split.set_defaults(handler=_split)

    convert = actions.add_parser(
        "convert", parents=[columns], help="write any supported input as pair-format JSONL"
    )
    convert.add_argument("file", metavar="FILE")
    convert.add_argument("--out", type=Path, required=True, help="output .jsonl file")
    convert.add_argument("--dedupe", action="store_true", help="keep one copy of each pair")
    convert.add_argument("--force", action="store_true", help="overwrite an existing file")
    convert.set_defaults(handler=_convert)

    synth = actions.add_parser(
        "synthesize",
        parents=[columns],
        help="write labelled pairs generated from the file's documents (copies, swaps, ...)",
    )
    synth.add_argument("file", metavar="FILE")
    synth.add_argument("--out", type=Path, required=True, help="output .jsonl file")
    synth.add_argument("--ratio", type=float, default=1.0, help="generated rows per row (1.0)")
    synth.add_argument("--seed", type=int, default=0, help="random seed (0)")
    synth.add_argument("--force", action="store_true", help="overwrite an existing file")
    synth.set_defaults(handler=_synthesize)

    export = actions.add_parser(
        "export-finetune",
        parents=[columns],
        help="write Mistral fine-tuning JSONL rendered with a judge prompt strategy",
    )
    export.add_argument("file", metavar="FILE")
    export.add_argument(
        "--prompt", default="fine-tune", help="prompt strategy the judge will use (fine-tune)"
    )
    export.add_argument("--out", type=Path, required=True, help="output .jsonl file")
    export.add_argument(
        "--balance", action="store_true", help="downsample the majority label first"
    )
    export.add_argument("--seed", type=int, default=0, help="random seed for --balance (0)")
    export.add_argument("--force", action="store_true", help="overwrite an existing file")
    export.set_defaults(handler=_export)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _load(source: str, args: argparse.Namespace) -> Any:
    from .._dataset import Dataset

    return Dataset.load(source, **column_mapping(args))


def _fresh(path: Path, force: bool) -> Path:
    if path.exists() and not force:
        raise DataError(f"{str(path)!r} already exists; pass --force to overwrite it")
    return path


def _describe(args: argparse.Namespace) -> int:
    for source in args.files:
        ds = _load(source, args)
        if args.json:
            facts = {
                "file": source,
                "name": ds.name,
                "rows": len(ds),
                "labels": {str(k): v for k, v in ds.label_counts().items()},
                "documents": ds.num_documents(),
                "sources": {str(k): v for k, v in ds.source_counts().items()},
                "content_hash": ds.content_hash(),
            }
            print(json.dumps(facts))
        else:
            print(ds.describe())
    return 0


def _split(args: argparse.Namespace) -> int:
    ds = _load(args.file, args)
    train, test = ds.split(test_size=args.test_size, seed=args.seed)
    paths = [_fresh(args.out_dir / f"{part}.jsonl", args.force) for part in ("train", "test")]
    for part, path in zip((train, test), paths, strict=True):
        part.to_jsonl(path)
        print(f"{path}: {part.describe()}")
    return 0


def _convert(args: argparse.Namespace) -> int:
    ds = _load(args.file, args)
    if args.dedupe:
        ds = ds.dedupe()
    path = ds.to_jsonl(_fresh(args.out, args.force))
    print(f"{path}: {ds.describe()}")
    return 0


def _synthesize(args: argparse.Namespace) -> int:
    out = _fresh(args.out, args.force)  # before the work: a clash is known up front
    synthetic = _load(args.file, args).synthesize(ratio=args.ratio, seed=args.seed)
    path = synthetic.to_jsonl(out)
    print(f"{path}: {synthetic.describe()}")
    print("add them to real training rows; splits by document stay leak-free (same documents)")
    return 0


def _export(args: argparse.Namespace) -> int:
    from .._prompts import get_prompt

    strategy = get_prompt(args.prompt)  # fail on a bad name before reading the data
    ds = _load(args.file, args)
    if args.balance:
        ds = ds.balance(seed=args.seed)
    path = ds.to_finetune_jsonl(_fresh(args.out, args.force), prompt=strategy)
    counts = ds.label_counts()
    print(
        f"{path}: {len(ds)} fine-tuning records ({counts[1]} consistent, {counts[0]} "
        f"inconsistent) rendered with prompt {strategy.id}; data hash {ds.content_hash()[:16]}"
    )
    if counts[1] != counts[0]:
        print("note: labels are unbalanced; --balance downsamples the majority label")
    return 0
