"""monai-roigan: class-conditional GAN synthesis of mammogram ROIs (ROI-mammoGAN) as a MONAI plugin.

Subpackages follow MONAI's layout: ``data`` (readers, datasets, phantom, ROI cache), ``transforms``
(``LoadMammogram``/``LoadMammogramd``, ``ExtractROI``/``ExtractROId``...), ``networks.nets``, ``engines``,
``handlers``, ``metrics`` and ``utils``.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
