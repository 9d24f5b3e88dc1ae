"""The :class:`Dataset`: an immutable, ordered collection of labelled or unlabelled Examples."""

from __future__ import annotations

import itertools
import os
import random
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

from .._errors import ConfigurationError, DataError
from .._prompts import PromptStrategy, get_prompt
from .._types import Example
from . import _ops
from ._builtin import BUILTIN_DATASETS, builtin_path
from ._export import write_jsonl
from ._formats import fib_examples, fib_source_hint, sniff, usb_examples
from ._hub import HUB_NAME, load_hub
from ._read import (
    SUFFIXES,
    check_file,
    iter_csv,
    iter_jsonl,
    iter_parquet,
    iter_path,
    iter_records,
    optional_import,
)
from ._rows import make_mapping, rows_to_examples

if TYPE_CHECKING:
    import pandas

__all__ = ["Dataset", "ExampleLike"]

ExampleLike = Example | tuple[str, str] | tuple[str, str, Any] | Mapping[str, Any]
"""What :meth:`Dataset.from_examples` accepts per item."""


class Dataset(Sequence[Example]):
    """An immutable, ordered collection of :class:`~hallujudge.Example`.

    Build one with a loader (:meth:`load`, :meth:`from_jsonl`, :meth:`from_fib`, ...) or
    :meth:`from_examples`. Every operation returns a new Dataset; nothing is modified in place.
    Ids, when present, are unique (checked on construction).

    Example:
        >>> ds = Dataset.from_examples([("The cat sat.", "A cat sat.", 1)], name="toy")
        >>> len(ds), ds[0].label
        (1, 1)

    Attributes:
        name: A short name, used in reports and lineage.
        examples: The rows, in order.
    """

    __slots__ = ("_hash", "examples", "name")

    name: str
    examples: tuple[Example, ...]

    def __init__(self, examples: Iterable[Example] = (), *, name: str = "dataset") -> None:
        """Create a dataset from Examples (use :meth:`from_examples` for tuples and dicts).

        Args:
            examples: The rows.
            name: A short name.

        Raises:
            DataError: If an item is not an Example, or two rows share an id.
        """
        rows = tuple(examples)
        for i, ex in enumerate(rows):
            if not isinstance(ex, Example):
                raise DataError(
                    f"row {i} is a {type(ex).__name__}, not an Example; use "
                    "Dataset.from_examples() for tuples and dicts",
                    row=i,
                )
        _ops.check_unique_ids(rows)
        object.__setattr__(self, "examples", rows)
        object.__setattr__(self, "name", str(name))
        object.__setattr__(self, "_hash", None)

    def __setattr__(self, key: str, value: object) -> None:
        raise AttributeError(f"Dataset is immutable; build a new one instead of setting {key!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickle and copy through the constructor path, since attributes cannot be set.
        return (_restore, (self.examples, self.name))

    # -- Sequence -------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.examples)

    def __iter__(self) -> Iterator[Example]:
        return iter(self.examples)

    @overload
    def __getitem__(self, index: int) -> Example: ...

    @overload
    def __getitem__(self, index: slice) -> Dataset: ...

    def __getitem__(self, index: int | slice) -> Example | Dataset:
        if isinstance(index, slice):
            return self._derive(self.examples[index], self.name)
        return self.examples[index]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Dataset):
            return NotImplemented
        return self.name == other.name and self.examples == other.examples

    def __hash__(self) -> int:
        return hash((self.name, self.content_hash()))

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}: {v}" for k, v in self.label_counts().items())
        return f"Dataset(name={self.name!r}, rows={len(self)}, labels={{{counts}}})"

    def __add__(self, other: Dataset) -> Dataset:
        if not isinstance(other, Dataset):
            return NotImplemented
        return Dataset(self.examples + other.examples, name=f"{self.name}+{other.name}")

    def _derive(self, rows: Iterable[Example], name: str) -> Dataset:
        # Rows come from a valid dataset: skip re-validation, ids stay unique in any subset.
        new = object.__new__(Dataset)
        object.__setattr__(new, "examples", tuple(rows))
        object.__setattr__(new, "name", name)
        object.__setattr__(new, "_hash", None)
        return new

    def _pick(self, indices: Iterable[int], name: str | None = None) -> Dataset:
        return self._derive((self.examples[i] for i in indices), name or self.name)

    # -- Constructors ---------------------------------------------------------------------

    @classmethod
    def from_examples(cls, examples: Iterable[ExampleLike], name: str = "examples") -> Dataset:
        """Build a dataset from Examples, tuples or dicts.

        Args:
            examples: Each item is an Example, a ``(document, summary)`` or
                ``(document, summary, label)`` tuple, or a dict in the pair format
                (``premise``/``hypothesis``/``target``) or with Example's field names.
            name: A short name.

        Returns:
            The dataset.

        Raises:
            DataError: For an invalid item, naming its index.
        """
        rows: list[Example] = []
        for i, item in enumerate(examples):
            where = f"row {i} of {name!r}"
            if isinstance(item, Example):
                rows.append(item)
            elif isinstance(item, tuple) and len(item) in (2, 3):
                record: dict[str, Any] = {"document": item[0], "summary": item[1]}
                if len(item) == 3:
                    record["label"] = item[2]
                rows.extend(rows_to_examples([(i, where, record)], make_mapping({}, record)))
            elif isinstance(item, Mapping):
                rows.extend(rows_to_examples([(i, where, item)], make_mapping({}, item)))
            else:
                raise DataError(
                    f"{where} is a {type(item).__name__}; use an Example, a (document, "
                    "summary[, label]) tuple or a dict",
                    row=i,
                )
        return cls(rows, name=name)

    @classmethod
    def _from_rows(
        cls,
        rows: Iterator[tuple[int, str, Mapping[str, Any]]],
        mapping: Mapping[str, str | None],
        name: str,
        *,
        columns: Iterable[str] | None = None,
        detect: bool = False,
        hint: str | None = None,
    ) -> Dataset:
        first = next(rows, None)
        if first is None:
            return cls((), name=name)
        cols = list(columns) if columns is not None else list(first[2])

        def chained() -> Iterator[tuple[int, str, Mapping[str, Any]]]:
            yield first
            yield from rows

        fmt = sniff(cols)
        if not detect and fmt != "pairs" and mapping.get("document", "premise") not in cols:
            loader = "from_fib" if fmt == "fib" else "from_usb"
            raise DataError(
                f"{first[1]}: these look like {fmt.upper()} rows (columns "
                f"{', '.join(map(repr, cols))}), not (document, summary) pairs; read them "
                f"with Dataset.{loader}(...) or Dataset.load(...)",
                row=first[0],
            )
        if not detect or mapping:
            fmt = "pairs"
        if fmt == "fib":
            return cls(fib_examples(chained(), fallback=hint), name=name)
        if fmt == "usb":
            return cls(usb_examples(chained()), name=name)
        return cls(rows_to_examples(chained(), make_mapping(mapping, cols)), name=name)

    @classmethod
    def from_jsonl(
        cls,
        path: str | os.PathLike[str],
        *,
        document: str = "premise",
        summary: str = "hypothesis",
        label: str | None = "target",
        id: str | None = "id",
        source: str | None = "source",
        name: str | None = None,
    ) -> Dataset:
        """Load a JSON Lines file, one object a line, streaming.

        The default mapping is the pair format of ``../shared/data``: ``premise``,
        ``hypothesis``, ``target`` (1 = consistent, 0 = inconsistent), ``id``, ``source``.
        Other columns go into ``Example.meta``. An explicitly named ``label``/``id``/``source``
        column must exist in every row; the default ones are read when present.

        Args:
            path: The file.
            document: Column of the document.
            summary: Column of the summary.
            label: Column of the label, or None to load unlabelled.
            id: Column of the id, or None.
            source: Column of the source, or None.
            name: The dataset's name (default: ``parent/stem`` of the path).

        Returns:
            The dataset.

        Raises:
            DataError: For a missing file, a bad line (with its number) or an invalid row.
        """
        mapping = _explicit(document=document, summary=summary, label=label, id=id, source=source)
        return cls._from_rows(iter_jsonl(path), mapping, name or _name_of(path))

    @classmethod
    def from_csv(
        cls, path: str | os.PathLike[str], *, name: str | None = None, **mapping: str | None
    ) -> Dataset:
        """Load a CSV file with a header row (standard library, streaming).

        Args:
            path: The file.
            name: The dataset's name (default: ``parent/stem`` of the path).
            **mapping: Column names: ``document=``, ``summary=``, ``label=``, ``id=``,
                ``source=`` (defaults as in :meth:`from_jsonl`).

        Returns:
            The dataset. Empty label cells are unlabelled.
        """
        return cls._from_rows(iter_csv(path), mapping, name or _name_of(path))

    @classmethod
    def from_parquet(
        cls, path: str | os.PathLike[str], *, name: str | None = None, **mapping: str | None
    ) -> Dataset:
        """Load a Parquet file batch by batch (needs ``hallujudge[data]``).

        Args:
            path: The file.
            name: The dataset's name (default: ``parent/stem`` of the path).
            **mapping: Column names, as in :meth:`from_csv`.

        Returns:
            The dataset.
        """
        return cls._from_rows(iter_parquet(path), mapping, name or _name_of(path))

    @classmethod
    def from_pandas(
        cls, df: pandas.DataFrame, *, name: str = "dataframe", **mapping: str | None
    ) -> Dataset:
        """Load a pandas DataFrame (one row per pair).

        Args:
            df: The frame. NaN/None labels are unlabelled; NaN text is an error.
            name: The dataset's name.
            **mapping: Column names, as in :meth:`from_csv`; a frame from :meth:`to_pandas`
                loads without any.

        Returns:
            The dataset.
        """
        columns = [str(c) for c in df.columns]
        records = df.to_dict(orient="records")
        return cls._from_rows(
            iter_records(records, origin=f"dataframe {name!r}"), mapping, name, columns=columns
        )

    @classmethod
    def from_hf(cls, hf_dataset: Any, *, name: str | None = None, **mapping: str | None) -> Dataset:
        """Load a ``datasets.Dataset`` (a single split).

        FIB and USB rows are recognised by their columns when no mapping is given.

        Args:
            hf_dataset: A ``datasets.Dataset``; for a ``DatasetDict`` pick a split first.
            name: The dataset's name.
            **mapping: Column names, as in :meth:`from_csv`.

        Returns:
            The dataset.

        Raises:
            DataError: For a ``DatasetDict`` or another type.
        """
        columns = getattr(hf_dataset, "column_names", None)
        if isinstance(columns, dict):
            raise DataError(
                f"got a DatasetDict with splits {sorted(columns)}; pass one split, for "
                "example ds['train']"
            )
        if not isinstance(columns, list):
            raise DataError(f"expected a datasets.Dataset, got {type(hf_dataset).__name__}")
        label = name or str(
            getattr(getattr(hf_dataset, "info", None), "dataset_name", None) or "hf"
        )
        rows = iter_records(iter(hf_dataset), origin=f"datasets.Dataset {label!r}")
        return cls._from_rows(rows, mapping, label, columns=columns, detect=True)

    @classmethod
    def load(cls, path_or_name: str | os.PathLike[str], **mapping: str | None) -> Dataset:
        """Load a file by its suffix, or a hub dataset by name.

        Files: ``.jsonl``/``.ndjson``, ``.json``, ``.csv``, ``.parquet``/``.pq``. Without a
        mapping, FIB multiple-choice rows (:meth:`from_fib`) and USB factuality rows
        (:meth:`from_usb`) are recognised by their columns; anything else is read as pairs
        (:meth:`from_jsonl`'s defaults). A name like ``"r-three/fib"`` that is not a local
        path goes to :meth:`from_hub`.

        Args:
            path_or_name: A file or a hub dataset name.
            **mapping: Column names (``document=``, ``summary=``, ...) and ``name=``.

        Returns:
            The dataset.

        Raises:
            DataError: For a missing file, an unsupported suffix or invalid rows.
        """
        name = mapping.pop("name", None)
        text = os.fspath(path_or_name)
        path = Path(text).expanduser()
        if not path.exists() and text in BUILTIN_DATASETS and not mapping:
            return cls.builtin(text, dataset_name=name)
        if not path.exists() and path.suffix.lower() not in SUFFIXES and HUB_NAME.match(text):
            return cls.from_hub(text, dataset_name=name, **mapping)
        check_file(path)
        return cls._from_rows(
            iter_path(path),
            mapping,
            name or _name_of(path),
            detect=True,
            hint=fib_source_hint(path.name),
        )

    @classmethod
    def builtin(cls, name: str = "minimal-pairs", *, dataset_name: str | None = None) -> Dataset:
        """Load a labelled sample shipped with the package, offline.

        ``"minimal-pairs"``: 158 hand-written pairs over 13 categories (49 consistent rewrites
        of 4 kinds, 109 summaries with one error of 9 kinds), written for this project; each
        pair's ``category`` is its ``source``, so reports give metrics per category. For public
        benchmarks use :meth:`from_hub` (``"r-three/fib"``, ``"kundank/usb"``; online).

        Args:
            name: The built-in dataset's name.
            dataset_name: The dataset's name in reports (default: ``name``).

        Returns:
            The dataset.

        Raises:
            DataError: For an unknown name.

        Example:
            >>> data = Dataset.builtin("minimal-pairs")
            >>> len(data), data.label_counts(), len(data.source_counts())
            (158, {1: 49, 0: 109}, 13)
        """
        return cls.from_jsonl(builtin_path(name), source="category", name=dataset_name or name)

    @staticmethod
    def stream(path: str | os.PathLike[str], **mapping: str | None) -> Iterator[Example]:
        """Validate and yield a file's rows one at a time, without holding them all.

        For files too big for memory. Rows are read and checked exactly as :meth:`load` does
        (FIB and USB rows recognised), except that ids are not checked for uniqueness, which
        needs the whole file.

        Args:
            path: A ``.jsonl``/``.json``/``.csv``/``.parquet`` file.
            **mapping: Column names, as in :meth:`from_csv`.

        Yields:
            One Example per row (several per FIB row).

        Raises:
            DataError: For a missing file or an invalid row, when it is reached.
        """
        p = check_file(path)
        rows = iter_path(p)
        first = next(rows, None)
        if first is None:
            return
        rows = itertools.chain([first], rows)
        fmt = "pairs" if mapping else sniff(first[2])
        if fmt == "fib":
            yield from fib_examples(rows, fallback=fib_source_hint(p.name))
        elif fmt == "usb":
            yield from usb_examples(rows)
        else:
            yield from rows_to_examples(rows, make_mapping(mapping, first[2]))

    @classmethod
    def from_fib(
        cls,
        path_or_rows: str | os.PathLike[str] | Iterable[Mapping[str, Any]],
        *,
        source: str | None = None,
        name: str | None = None,
    ) -> Dataset:
        """Load FIB's published multiple-choice rows (the format of ``r-three/fib``).

        Each row (``id``, ``input``, ``correct_choice``, ``list_choices``, ``lbl``) becomes one
        consistent pair (the correct choice) and one inconsistent pair per distractor: a row
        with k choices gives k examples. CNN/DM summaries' ``<t> ... </t>`` sentence tags
        become one plain sentence per line. Ids are ``f"{fib_id}-{k}-{choice}"`` where ``k``
        counts earlier rows with the same FIB id. FIB repeats each document once per distractor,
        so the consistent pair recurs; ``.dedupe()`` keeps one copy.

        Args:
            path_or_rows: A file (any supported suffix) or an iterable of row dicts.
            source: The ``source`` to record; by default ``fib-xsum`` or ``fib-cnndm`` when the
                row's ``dataset`` column, its tags or the file name tells, else ``fib``.
            name: The dataset's name.

        Returns:
            The dataset.
        """
        if isinstance(path_or_rows, (str, os.PathLike)):
            path = check_file(path_or_rows)
            rows = iter_path(path)
            examples = fib_examples(rows, source=source, fallback=fib_source_hint(path.name))
            return cls(examples, name=name or _name_of(path))
        records = iter_records(path_or_rows, origin="FIB rows")
        return cls(fib_examples(records, source=source), name=name or "fib")

    @classmethod
    def from_usb(
        cls,
        path_or_rows: str | os.PathLike[str] | Iterable[Mapping[str, Any]],
        *,
        source: str = "usb-wiki",
        name: str | None = None,
    ) -> Dataset:
        """Load USB factuality-classification rows (the format of ``kundank/usb``).

        USB's ``label`` is **0 for the sentence after the annotators' edit (consistent) and 1
        for the original before the edit (inconsistent)**; it is inverted here to our
        convention (1 = consistent) and kept as ``meta["usb_label"]``. The document is
        ``input_lines`` joined with spaces.

        Args:
            path_or_rows: A file (any supported suffix) or an iterable of row dicts.
            source: The ``source`` to record.
            name: The dataset's name.

        Returns:
            The dataset.
        """
        if isinstance(path_or_rows, (str, os.PathLike)):
            path = check_file(path_or_rows)
            return cls(usb_examples(iter_path(path), source=source), name=name or _name_of(path))
        rows = iter_records(path_or_rows, origin="USB rows")
        return cls(usb_examples(rows, source=source), name=name or "usb")

    @classmethod
    def from_hub(
        cls,
        name: str,
        split: str | None = None,
        *,
        config: str | None = None,
        dataset_name: str | None = None,
        **mapping: str | None,
    ) -> Dataset:
        """Load a dataset from the Hugging Face hub through the ``datasets`` package.

        ``"r-three/fib"`` (split ``test``) is read with :meth:`from_fib`, ``"kundank/usb"``
        with :meth:`from_usb`; FIB and USB rows from other names are recognised by their
        columns. This needs network access (or the ``datasets`` cache); with
        ``HF_HUB_OFFLINE=1`` and no cache it fails at once.

        Args:
            name: The hub id, for example ``"r-three/fib"``.
            split: The split (default: ``test`` for the known FIB/USB ids, else ``train``).
            config: The dataset's configuration name, if it has several.
            dataset_name: The result's name (default ``"{name}:{split}"``).
            **mapping: Column names, as in :meth:`from_csv`.

        Returns:
            The dataset.

        Raises:
            DataError: If the dataset cannot be loaded; the message says it needs network or a
                local file.
            ConfigurationError: If ``datasets`` is not installed.
        """
        hf, fmt, split = load_hub(name, split, config)
        label = dataset_name or f"{name}:{split}"
        if fmt is not None and not mapping:
            rows = iter_records(iter(hf), origin=f"{name!r} split {split!r}")
            if fmt == "fib":
                return cls(fib_examples(rows), name=label)
            return cls(usb_examples(rows), name=label)
        return cls.from_hf(hf, name=label, **mapping)

    # -- Operations -----------------------------------------------------------------------

    def split(self, *, test_size: float = 0.2, seed: int = 0) -> tuple[Dataset, Dataset]:
        """Split by document: no document (up to spacing and case) lands in both parts.

        Documents are stratified by the labels they carry, so both parts keep a similar label
        mix. ``test_size`` is the share of documents (not rows) in the test part.

        Args:
            test_size: Share of documents in the test part, in (0, 1).
            seed: Random seed; the same data and seed always give the same split.

        Returns:
            ``(train, test)``, each in the original row order.

        Raises:
            DataError: With fewer than two distinct documents.
            ConfigurationError: For ``test_size`` outside (0, 1).
        """
        train, test = _ops.split_indices(self.examples, test_size, seed)
        return self._pick(train, f"{self.name}-train"), self._pick(test, f"{self.name}-test")

    def balance(self, *, seed: int = 0) -> Dataset:
        """Downsample the majority label to the minority's count (random, seeded).

        Args:
            seed: Random seed.

        Returns:
            A dataset with as many consistent as inconsistent rows, in the original order.

        Raises:
            DataError: If a row is unlabelled or a label is absent.
        """
        return self._pick(_ops.balance_indices(self.examples, seed))

    def sample(self, n: int, *, seed: int = 0) -> Dataset:
        """Pick ``n`` distinct rows at random (seeded), kept in their original order.

        Args:
            n: How many rows.
            seed: Random seed.

        Returns:
            The sample.

        Raises:
            DataError: If ``n`` exceeds the number of rows.
            ConfigurationError: If ``n`` is negative or not an integer.
        """
        _check_count(n)
        if n > len(self):
            raise DataError(f"cannot sample {n} rows from {self.name!r}, which has {len(self)}")
        return self._pick(sorted(random.Random(seed).sample(range(len(self)), n)))

    def shuffle(self, *, seed: int = 0) -> Dataset:
        """Return the rows in a random (seeded) order.

        Args:
            seed: Random seed.

        Returns:
            The shuffled dataset.
        """
        order = list(range(len(self)))
        random.Random(seed).shuffle(order)
        return self._pick(order)

    def filter(self, fn: Callable[[Example], bool]) -> Dataset:
        """Keep the rows for which ``fn`` is true.

        Args:
            fn: The predicate.

        Returns:
            The filtered dataset.
        """
        return self._derive((ex for ex in self.examples if fn(ex)), self.name)

    def head(self, n: int) -> Dataset:
        """The first ``n`` rows (all of them if there are fewer).

        Args:
            n: How many rows.

        Returns:
            The dataset's head.
        """
        _check_count(n)
        return self._derive(self.examples[:n], self.name)

    def dedupe(self) -> Dataset:
        """Keep the first copy of each exact (document, summary) pair.

        Returns:
            The deduplicated dataset.

        Raises:
            DataError: If copies of a pair disagree on the label, naming both rows.
        """
        return self._pick(_ops.dedupe_indices(self.examples))

    def synthesize(self, *, ratio: float = 1.0, seed: int = 0) -> Dataset:
        """Generated training pairs from this dataset's documents, labelled by construction.

        About ``ratio * len(self)`` rows, by the generator the shipped local judges were trained
        with. Consistent (a quarter): sentences copied from a document, compressed (clauses
        dropped), two fused, generalised. Inconsistent: a name, number or date of the source
        exchanged with another of the same document (every word stays in the document, so a
        judge must check who goes with what), a name absent from it, negation flipped, an
        antonym, two roles reversed, a claim appended, a sentence of a similar document. Sources
        are document sentences and this dataset's consistent summaries in equal parts, so both
        extractive and abstractive text come with both labels. Every row keeps a document of
        this dataset, so :meth:`split` by document stays leak-free; ``source`` says how a row was
        made (``"synthetic:swap"``) and exact duplicates are dropped.

        Args:
            ratio: Generated rows per row of this dataset (before duplicates are dropped).
            seed: Random seed: the same data and seed always give the same rows.

        Returns:
            The generated rows only; add them to real data with ``+`` or :meth:`mix`.

        Raises:
            ConfigurationError: If ``ratio`` is negative.
        """
        from .._local._augment import augment_rows  # lives with the local judges: load on use

        if not ratio >= 0:
            raise ConfigurationError(
                f"pass ratio= of 0 or more (generated rows per row); got {ratio}"
            )
        # Unlabelled rows lend their documents only (the generator rewrites consistent summaries).
        rows = [(ex.document, ex.summary, ex.label if ex.label is not None else 0) for ex in self]
        unique: dict[tuple[str, str, int], str] = {}
        for row, kind in augment_rows(rows, ratio=ratio, seed=seed):
            unique.setdefault(row, kind)
        return Dataset(
            [
                Example(document=d, summary=s, label=y, source=f"synthetic:{kind}")
                for (d, s, y), kind in unique.items()
            ],
            name=f"{self.name}-synthetic",
        )

    def rename(self, name: str) -> Dataset:
        """The same rows under another name.

        Args:
            name: The new name.

        Returns:
            The renamed dataset.
        """
        return self._derive(self.examples, name)

    @staticmethod
    def mix(
        datasets: Sequence[Dataset],
        weights: Sequence[float] | None = None,
        *,
        n: int | None = None,
        seed: int = 0,
        name: str | None = None,
    ) -> Dataset:
        """Mix datasets in given proportions, without repeating rows.

        With neither ``weights`` nor ``n`` the datasets are simply concatenated in order.
        Otherwise each dataset contributes ``weights[k] / sum(weights)`` of ``n`` rows (largest
        remainder rounding), sampled with ``seed``, and the mix is shuffled. ``n`` defaults to
        the largest mix the weights allow.

        Args:
            datasets: The datasets.
            weights: Their shares, or None for proportional to their sizes.
            n: Rows in the mix.
            seed: Random seed.
            name: The mix's name (default ``mix(a,b)``).

        Returns:
            The mix; rows keep their ``source``.

        Raises:
            DataError: If a dataset is too small for its share, or ids collide.
            ConfigurationError: For bad weights or ``n``.
        """
        parts = list(datasets)
        if not parts or not all(isinstance(d, Dataset) for d in parts):
            raise ConfigurationError("mix() needs a non-empty sequence of Dataset objects")
        title = name or f"mix({','.join(d.name for d in parts)})"
        if weights is None and n is None:
            return _concat((ex for d in parts for ex in d.examples), title)
        picked = _ops.mix_indices([len(d) for d in parts], weights, n, seed)
        return _concat((parts[k].examples[i] for k, i in picked), title)

    # -- Facts ----------------------------------------------------------------------------

    def content_hash(self) -> str:
        r"""SHA-256 (hex) of the rows' (document, summary, label), in order.

        Stable across runs, processes and machines; ids, sources, meta and the name do not
        count. The canonical bytes are ``"hallujudge-dataset-v1\n"`` then, per row, the
        UTF-8 of ``json.dumps([document, summary, label], ensure_ascii=False,
        separators=(",", ":"))`` followed by ``"\n"``.

        Returns:
            64 hex characters.
        """
        cached: str | None = object.__getattribute__(self, "_hash")
        if cached is None:
            cached = _ops.content_hash(self.examples)
            object.__setattr__(self, "_hash", cached)
        return cached

    def label_counts(self) -> dict[int | None, int]:
        """Rows per label: always keys 1 and 0; None only when some rows are unlabelled.

        Returns:
            ``{1: consistent, 0: inconsistent[, None: unlabelled]}``.
        """
        counts = Counter(ex.label for ex in self.examples)
        out: dict[int | None, int] = {1: counts.get(1, 0), 0: counts.get(0, 0)}
        if counts.get(None):
            out[None] = counts[None]
        return out

    def source_counts(self) -> dict[str | None, int]:
        """Rows per ``source``, most common first.

        Returns:
            The counts.
        """
        return dict(Counter(ex.source for ex in self.examples).most_common())

    def num_documents(self) -> int:
        """Distinct documents (up to spacing and case), the unit :meth:`split` groups by.

        Returns:
            The count.
        """
        return len({_ops.document_key(ex.document) for ex in self.examples})

    def describe(self) -> str:
        """One paragraph: rows, labels, documents, sources and content hash.

        Returns:
            The summary text.
        """
        if not self.examples:
            return f"Dataset {self.name!r} is empty (0 rows)."
        counts = self.label_counts()
        labels = f"{counts[1]} consistent, {counts[0]} inconsistent"
        if None in counts:
            labels += f", {counts[None]} unlabelled"
        sources = ", ".join(f"{k or 'unknown'} ({v})" for k, v in self.source_counts().items())
        return (
            f"Dataset {self.name!r}: {len(self)} rows ({labels}) over {self.num_documents()} "
            f"distinct documents; sources: {sources}; content hash "
            f"{self.content_hash()[:16]}."
        )

    # -- Export ---------------------------------------------------------------------------

    def to_pandas(self) -> pandas.DataFrame:
        """A DataFrame with columns id, document, summary, label, source (and meta if any).

        ``label`` uses pandas' nullable ``Int64`` so unlabelled rows stay ``<NA>``; the frame
        loads back with :meth:`from_pandas` without a mapping.

        Returns:
            The frame.
        """
        pd = optional_import("pandas")
        frame = pd.DataFrame(
            {
                "id": [ex.id for ex in self.examples],
                "document": [ex.document for ex in self.examples],
                "summary": [ex.summary for ex in self.examples],
                "label": pd.array([ex.label for ex in self.examples], dtype="Int64"),
                "source": [ex.source for ex in self.examples],
            }
        )
        if any(ex.meta for ex in self.examples):
            # Only when used: a column of empty dicts cannot be written to Parquet.
            frame["meta"] = [dict(ex.meta) for ex in self.examples]
        return frame

    def to_jsonl(self, path: str | os.PathLike[str]) -> Path:
        """Write the pair format (``id``, ``premise``, ``hypothesis``, ``target``, ``source``).

        Non-empty ``meta`` is written under ``meta``. :meth:`from_jsonl` reads the file back
        to an equal dataset. The file is written atomically.

        Args:
            path: The output file (parent folders are created).

        Returns:
            The path written.
        """

        def lines() -> Iterator[dict[str, Any]]:
            for ex in self.examples:
                row: dict[str, Any] = {
                    "id": ex.id,
                    "premise": ex.document,
                    "hypothesis": ex.summary,
                    "target": ex.label,
                    "source": ex.source,
                }
                if ex.meta:
                    row["meta"] = ex.meta
                yield row

        return write_jsonl(path, lines())

    def to_finetune_records(
        self, prompt: str | PromptStrategy = "fine-tune"
    ) -> list[dict[str, Any]]:
        """Chat records for fine-tuning: exactly what the Judge sends, plus the target answer.

        Each record is ``{"messages": strategy.render(example) + [{"role": "assistant",
        "content": strategy.target(example)}]}``, the format of Mistral's fine-tuning API, so
        a model is trained on the same prompt it is queried with.

        Args:
            prompt: The prompt strategy (name or instance) the fine-tuned judge will use.

        Returns:
            One record per row.

        Raises:
            DataError: If a row is unlabelled, naming it.
            ConfigurationError: For an unknown prompt name.
        """
        strategy = get_prompt(prompt)
        records: list[dict[str, Any]] = []
        for i, ex in enumerate(self.examples):
            if ex.label is None:
                raise DataError(
                    f"row {i}{f' (id {ex.id!r})' if ex.id else ''} of {self.name!r} is "
                    "unlabelled; fine-tuning data needs a label on every row (drop unlabelled "
                    "rows with .filter(lambda ex: ex.label is not None))",
                    row=i,
                )
            messages: list[dict[str, Any]] = [dict(m) for m in strategy.render(ex)]
            messages.append({"role": "assistant", "content": strategy.target(ex)})
            records.append({"messages": messages})
        return records

    def to_finetune_jsonl(
        self, path: str | os.PathLike[str], prompt: str | PromptStrategy = "fine-tune"
    ) -> Path:
        """Write :meth:`to_finetune_records` as JSON Lines (Mistral's fine-tuning file format).

        Args:
            path: The output file (parent folders are created).
            prompt: The prompt strategy, as in :meth:`to_finetune_records`.

        Returns:
            The path written.
        """
        return write_jsonl(path, self.to_finetune_records(prompt))


def _concat(rows: Iterable[Example], name: str) -> Dataset:
    try:
        return Dataset(rows, name=name)
    except DataError as exc:
        raise DataError(
            f"{name}: {exc} (the datasets share ids: rename them, e.g. with a prefix per source)",
            row=exc.row,
        ) from exc


def _restore(examples: tuple[Example, ...], name: str) -> Dataset:
    return Dataset(examples, name=name)


def _explicit(**given: str | None) -> dict[str, str | None]:
    # Keep only keywords that differ from the pair-format defaults, so make_mapping can tell
    # an explicit (required) column from a default (optional) one.
    defaults = {
        "document": "premise",
        "summary": "hypothesis",
        "label": "target",
        "id": "id",
        "source": "source",
    }
    return {k: v for k, v in given.items() if v != defaults[k]}


def _name_of(path: str | os.PathLike[str]) -> str:
    p = Path(path)
    return f"{p.parent.name}/{p.stem}" if p.parent.name else p.stem


def _check_count(n: object) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ConfigurationError(f"n must be a non-negative integer, got {n!r}")
