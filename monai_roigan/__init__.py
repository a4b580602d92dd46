"""monai-roigan: class-conditional GAN synthesis of mammogram ROIs (ROI-mammoGAN) as a MONAI plugin.

Subpackages follow MONAI's layout: ``data`` (readers, datasets, phantom, ROI cache), ``transforms``
(``LoadMammogram``/``LoadMammogramd``, ``ExtractROI``/``ExtractROId``...), ``networks.nets``, ``engines``,
``handlers``, ``metrics``, ``apps``, ``evaluation`` and ``utils``.

One call generates ROIs: ``monai_roigan.generate("bundle", "mass", 16, seed=0)`` (see
:func:`monai_roigan.apps.generation.generate`). It is imported on first use, so that ``import
monai_roigan.transforms`` does not load the workflow layers above it.
"""

import importlib

__version__ = "0.16.0"

__all__ = ["__version__", "generate"]


def __getattr__(name: str):
    if name == "generate":  # resolved on first use: the root package itself imports no layer
        return importlib.import_module("monai_roigan.apps.generation").generate
    raise AttributeError(f"module 'monai_roigan' has no attribute {name!r}")
