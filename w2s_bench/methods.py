"""The method contract: how a student learns from its targets."""

from __future__ import annotations

import inspect
from typing import Any

import torch

from w2s_bench.errors import UserError
from w2s_bench.specs import resolve_factory


class Method:
    """A student training objective over candidate logits.

    Subclasses set ``name`` and implement :meth:`loss`. :meth:`config` must
    include every option that changes results, because it is part of the
    student phase's cache key.
    """

    name: str = "method"
    version: str = "1"

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version}

    def bind_task(self, head: str) -> None:
        """Set options that depend on the task's head, ``classify`` or ``rank``.

        The pipeline calls this before the student trains and before reading
        :meth:`config` for the cache key. The default does nothing.
        """

    def loss(
        self,
        logits: torch.Tensor,
        mask: torch.Tensor,
        targets: torch.Tensor,
        fraction: float,
    ) -> torch.Tensor:
        """Return the scalar loss for a batch.

        :param logits: ``[B, K]`` student scores per candidate.
        :param mask: ``[B, K]`` True for real candidates.
        :param targets: ``[B, K]`` target distributions (the weak labels).
        :param fraction: share of training done before this step, in [0, 1).
        """
        raise NotImplementedError


def check_options(factory: Any, options: dict[str, Any], owner: str) -> None:
    """Reject options that ``factory`` does not take, naming them and the ones it does.

    :raises UserError: for an option that is not a parameter of ``factory``
        (unless it takes ``**kwargs``).
    """
    parameters = inspect.signature(factory).parameters.values()
    if any(parameter.kind is inspect.Parameter.VAR_KEYWORD for parameter in parameters):
        return

    known = [parameter.name for parameter in parameters if parameter.name != "self"]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise UserError(
            f"{', '.join(unknown)} {'is not an option' if len(unknown) == 1 else 'are not options'} of {owner}; "
            f"its options: {', '.join(known) or 'none'}"
        )


def create_loss_method(registry: Any, name: str, options: dict[str, Any], owner: str) -> Method:
    """Create the plain method whose loss a wrapping method (bootstrap, generative-finetune) trains with.

    :raises UserError: for an unknown name, an option the loss does not take,
        or a method that runs its own student side and so has no plain loss.
    """
    spec = registry.method(name)
    factory = resolve_factory(spec.factory)
    check_options(factory, options, f"loss {name} (used by {owner})")

    method = factory(**options)
    if hasattr(method, "student_side"):
        raise UserError(f"loss {name!r} of {owner} is invalid: {name} is not a plain student loss; use naive or aux_conf")
    return method
