"""The method contract: how a student learns from its targets."""

from __future__ import annotations

from typing import Any

import torch


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
