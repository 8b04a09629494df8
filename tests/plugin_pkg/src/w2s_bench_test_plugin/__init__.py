"""The hard_weak method: cross-entropy on the arg-max of each weak label."""

import torch

from w2s_bench.hookspecs import hookimpl
from w2s_bench.losses import soft_cross_entropy
from w2s_bench.methods import Method
from w2s_bench.specs import MethodSpec


class HardWeakMethod(Method):
    name = "hard_weak"

    def loss(self, logits, mask, targets, fraction):
        hard = targets.masked_fill(~mask, -1.0).argmax(dim=-1)
        return soft_cross_entropy(logits, mask, torch.nn.functional.one_hot(hard, targets.shape[-1]).to(logits.dtype))


@hookimpl
def w2s_bench_register_methods():
    return [MethodSpec("hard_weak", HardWeakMethod, "cross-entropy on hardened weak labels")]
