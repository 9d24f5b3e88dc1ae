"""hallujudge: typed LLM judges that detect hallucination.

>>> from hallujudge import Judge
>>> verdict = Judge().score("The cat sat on the mat.", "A dog sat on the mat.")
>>> verdict.label  # doctest: +SKIP
'inconsistent'
"""

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
from ._cache import VerdictCache
from ._cascade import Cascade
from ._dataset import Dataset
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
    JudgeOutputError,
    RateLimitError,
    ServerError,
)
from ._evaluator import (
    EvalCallback,
    Evaluator,
    afit_threshold,
    aggregate_metric,
    fit_threshold,
    row_metric,
)
from ._finetune import Estimate, FineTuneJob, FineTuner, Lineage
from ._guard import Guard, GuardResult
from ._judge import Judge
from ._prompts import PromptStrategy, available_prompts, get_prompt, register_prompt
from ._report import Comparison, EvalReport
from ._types import Example, Span, Usage, Verdict

__version__ = "0.1.0"

__all__ = [
    "AuthenticationError",
    "Backend",
    "BackendConnectionError",
    "BackendError",
    "BackendTimeoutError",
    "BadRequestError",
    "CacheError",
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
    "Judge",
    "JudgeOutputError",
    "Lineage",
    "Message",
    "PromptStrategy",
    "RateLimitError",
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
