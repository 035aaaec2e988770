"""batchplan: plan LLM batch jobs before you send them.

The Python API beneath the `batchplan` CLI. Imports are lazy so `batchplan --help` starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from planner.plan.estimate import Estimate, ModelEstimate, estimate
    from planner.plan.options import EstimateOptions
    from planner.prices.pricing import PriceBook, PriceTable, load_pricebook

__all__ = ["Estimate", "EstimateOptions", "ModelEstimate", "PriceBook", "PriceTable", "estimate", "load_pricebook"]

_LAZY = {
    "estimate": "planner.plan.estimate",
    "Estimate": "planner.plan.estimate",
    "ModelEstimate": "planner.plan.estimate",
    "EstimateOptions": "planner.plan.options",
    "load_pricebook": "planner.prices.pricing",
    "PriceBook": "planner.prices.pricing",
    "PriceTable": "planner.prices.pricing",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'planner' has no attribute {name!r}")
