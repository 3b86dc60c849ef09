"""Declarative models, reusable components and the published-model library."""

from oncotwin.models.base import TIME, DoseTarget, Model, ModelBuilder, StateSpec
from oncotwin.models.registry import get_model, list_models

__all__ = ["TIME", "DoseTarget", "Model", "ModelBuilder", "StateSpec", "get_model", "list_models"]
