"""``ClassLabels``: read and rewrite class labels in the form a pipeline gives them (int, one-hot or name)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

__all__ = ["ClassLabels"]


class ClassLabels:
    """The classes of a pipeline, in label order, and conversions between their label forms.

    A label is an int (an index into ``class_names``), a one-hot vector (list, NumPy array or tensor of length
    K) or a class name. :meth:`index` reads any form; :meth:`relabel` writes a new class in the form it got.
    """

    def __init__(self, class_names: Sequence[str]):
        self.class_names = list(class_names)

    def index(self, label) -> int:
        """Index into ``class_names`` of an int, one-hot or class-name label (ValueError when invalid)."""
        if isinstance(label, str):
            if label not in self.class_names:
                raise ValueError(f"unknown class name {label!r}; classes are {self.class_names}")
            return self.class_names.index(label)
        values = np.asarray(label.detach().cpu() if isinstance(label, torch.Tensor) else label).reshape(-1)
        index = int(values.argmax()) if values.size > 1 else int(values[0])
        if values.size > 1 and values.size != len(self.class_names):
            raise ValueError(f"one-hot label of length {values.size}, expected {len(self.class_names)}")
        if not 0 <= index < len(self.class_names):
            raise ValueError(f"label {index} out of range for {len(self.class_names)} classes")
        return index

    def relabel(self, label, class_index: int):
        """``label`` rewritten to ``class_index`` in the same form (int, one-hot of the same type, name)."""
        if isinstance(label, str):
            return self.class_names[class_index]
        values = label.detach().cpu() if isinstance(label, torch.Tensor) else np.asarray(label)
        if values.reshape(-1).shape[0] > 1:
            onehot = values * 0
            onehot.reshape(-1)[class_index] = 1
            return onehot.to(label.device) if isinstance(label, torch.Tensor) else onehot
        if isinstance(label, torch.Tensor):
            return torch.full_like(label, class_index)
        return type(label)(class_index) if isinstance(label, (int, np.integer)) else np.full_like(values, class_index)
