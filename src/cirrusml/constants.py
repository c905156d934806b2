"""Constants, as ``azure.ai.ml.constants`` spells them."""

from __future__ import annotations

from cirrusml.data._io import AssetTypes, InputOutputModes
from cirrusml.spec import ListViewType, TabularTrainingMode

__all__ = ["AssetTypes", "InputOutputModes", "ListViewType", "TabularTrainingMode"]
