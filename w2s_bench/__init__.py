"""w2s-bench: a plugin harness for weak-to-strong generalization experiments."""

from w2s_bench.errors import UserError
from w2s_bench.specs import MethodSpec, ModelSpec, TaskSpec

__version__ = "0.1.0"

__all__ = ["MethodSpec", "ModelSpec", "TaskSpec", "UserError", "__version__"]
