"""hallujudge: typed LLM judges that detect hallucination.

>>> from hallujudge import Judge
>>> verdict = Judge().score("The cat sat on the mat.", "A dog sat on the mat.")
>>> verdict.label  # doctest: +SKIP
'inconsistent'

Every public name is imported on first use (PEP 562 ``__getattr__``), so ``import hallujudge``
costs little more than its base dependencies and a plain ``score`` never loads the evaluator,
the reports or the fine-tuning clients.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._backends import (
        Backend,
        FakeBackend,
        FunctionBackend,
        Message,
        Request,
        Response,
        TokenLogprob,
        available_backends,
        register_backend,
    )
    from ._cache import (
        VerdictCache,
    )
    from ._callbacks import EvalCallback
    from ._cascade import (
        Cascade,
    )
    from ._dataset import (
        Dataset,
    )
    from ._errors import (
        AuthenticationError,
        BackendConnectionError,
        BackendError,
        BackendTimeoutError,
        BadRequestError,
        CacheError,
        ConfigurationError,
        DataError,
        FineTuneError,
        HallucinationError,
        HallujudgeError,
        InvalidInputError,
        JudgeOutputError,
        MissingExtraError,
        RateLimitError,
        ServerError,
    )
    from ._evaluator import (
        Evaluator,
        afit_threshold,
        aggregate_metric,
        fit_threshold,
        row_metric,
    )
    from ._finetune import (
        Estimate,
        FineTuneJob,
        FineTuner,
        Lineage,
    )
    from ._guard import (
        Guard,
        GuardResult,
    )
    from ._judge import (
        Judge,
    )
    from ._judging import JudgeMethods, JudgeProtocol
    from ._prompts import (
        PromptStrategy,
        available_prompts,
        get_prompt,
        register_prompt,
    )
    from ._ratelimit import CallLimiter, RateLimiter
    from ._report import (
        Comparison,
        EvalReport,
    )
    from ._settings import (
        JudgeSettings,
    )
    from ._types import (
        Example,
        Span,
        Usage,
        Verdict,
    )

__version__ = "0.1.0"  # the one place: pyproject.toml reads it (hatch dynamic version)

_HOME: dict[str, str] = {
    "AuthenticationError": "._errors",
    "Backend": "._backends",
    "BackendConnectionError": "._errors",
    "BackendError": "._errors",
    "BackendTimeoutError": "._errors",
    "BadRequestError": "._errors",
    "CacheError": "._errors",
    "CallLimiter": "._ratelimit",
    "Cascade": "._cascade",
    "Comparison": "._report",
    "ConfigurationError": "._errors",
    "DataError": "._errors",
    "Dataset": "._dataset",
    "Estimate": "._finetune",
    "EvalCallback": "._callbacks",
    "EvalReport": "._report",
    "Evaluator": "._evaluator",
    "Example": "._types",
    "FakeBackend": "._backends",
    "FineTuneError": "._errors",
    "FineTuneJob": "._finetune",
    "FineTuner": "._finetune",
    "FunctionBackend": "._backends",
    "Guard": "._guard",
    "GuardResult": "._guard",
    "HallucinationError": "._errors",
    "HallujudgeError": "._errors",
    "InvalidInputError": "._errors",
    "Judge": "._judge",
    "JudgeOutputError": "._errors",
    "JudgeSettings": "._settings",
    "JudgeProtocol": "._judging",
    "JudgeMethods": "._judging",
    "Lineage": "._finetune",
    "Message": "._backends",
    "MissingExtraError": "._errors",
    "PromptStrategy": "._prompts",
    "RateLimitError": "._errors",
    "RateLimiter": "._ratelimit",
    "Request": "._backends",
    "Response": "._backends",
    "ServerError": "._errors",
    "Span": "._types",
    "TokenLogprob": "._backends",
    "Usage": "._types",
    "Verdict": "._types",
    "VerdictCache": "._cache",
    "afit_threshold": "._evaluator",
    "aggregate_metric": "._evaluator",
    "available_backends": "._backends",
    "available_prompts": "._prompts",
    "fit_threshold": "._evaluator",
    "get_prompt": "._prompts",
    "register_backend": "._backends",
    "register_prompt": "._prompts",
    "row_metric": "._evaluator",
}
"""Public name -> the private module that defines it."""

__all__ = [
    "AuthenticationError",
    "Backend",
    "BackendConnectionError",
    "BackendError",
    "BackendTimeoutError",
    "BadRequestError",
    "CacheError",
    "CallLimiter",
    "Cascade",
    "Comparison",
    "ConfigurationError",
    "DataError",
    "Dataset",
    "Estimate",
    "EvalCallback",
    "EvalReport",
    "Evaluator",
    "Example",
    "FakeBackend",
    "FineTuneError",
    "FineTuneJob",
    "FineTuner",
    "FunctionBackend",
    "Guard",
    "GuardResult",
    "HallucinationError",
    "HallujudgeError",
    "InvalidInputError",
    "Judge",
    "JudgeMethods",
    "JudgeOutputError",
    "JudgeProtocol",
    "JudgeSettings",
    "Lineage",
    "Message",
    "MissingExtraError",
    "PromptStrategy",
    "RateLimitError",
    "RateLimiter",
    "Request",
    "Response",
    "ServerError",
    "Span",
    "TokenLogprob",
    "Usage",
    "Verdict",
    "VerdictCache",
    "__version__",
    "afit_threshold",
    "aggregate_metric",
    "available_backends",
    "available_prompts",
    "fit_threshold",
    "get_prompt",
    "register_backend",
    "register_prompt",
    "row_metric",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'hallujudge' has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
