from .array import BreastMask, breast_mask, sample_normal_centers

__all__ = ["BreastMask", "breast_mask", "sample_normal_centers"]
