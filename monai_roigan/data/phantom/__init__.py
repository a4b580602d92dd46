"""Deterministic phantom MLO film mammograms in the exact layout of the MIAS (mini-MIAS) database.

The package trains and tests without the real MIAS data by generating a stand-in folder with the same file
layout: ``mdb001.pgm`` ... (binary PGM, ``P5``, 8-bit, ``size`` x ``size`` pixels, default 1024) and an
``Info.txt`` table in the exact MIAS row format, e.g. ``mdb001 G CIRC B 535 425 197``.

Conventions (the same as MIAS and the rest of this package):

* pixels are 200 micron (0.2 mm) at ``size=1024``; every length below is given for 1024 pixels and scaled by
  ``size / 1024`` for other sizes;
* arrays are (H, W) with row 0 at the top (*top-left* origin); ``Info.txt`` stores ``x = col`` and
  ``y = size - row`` (*bottom-left* origin, as in the real file);
* even reference numbers are left breasts with the chest wall on the left image edge, odd ones right breasts
  with the chest wall on the right edge; every image is a medio-lateral oblique (MLO) view.

How an image is made (one function per anatomical element or lesion type). The anatomy is drawn in a
*canonical* orientation, chest wall on the left, and mirrored at the end for right breasts:

1. outline: the breast depth from the chest wall, per row, is a smooth teardrop (axillary tail at the top,
   maximal at the nipple, curving back towards the inframammary fold), varied per image;
2. thickness: a distance transform from the skin line models the compressed breast getting thinner towards
   the skin, which gives the dark periphery of film mammograms;
3. pectoral muscle: a bright, slightly curved triangle in the upper chest-wall corner;
4. fibroglandular tissue: 1/f^beta (beta = 3 in the power spectrum) Gaussian random fields, soft-thresholded
   inside a retro-areolar density envelope; the glandular fraction is set by the MIAS tissue class
   F (fatty), G (fatty-glandular) or D (dense-glandular);
5. linear structures: Cooper's ligaments (zero level sets of a band-limited field), ducts/trabeculae (the same
   in a polar frame around the nipple, so they point towards it) and a few vessels;
6. lesions add attenuation (CIRC, SPIC, MISC, ASYM), warp the tissue (ARCH) or add specks (CALC);
7. film: attenuation goes through a saturating film characteristic curve to 8-bit grey; background is
   near-black film base with grain, the image is padded with black outside the film, a white film label
   with dark letters ("L"/"R" over "ML") sits in the upper background, sometimes a scanner artefact.

Every random draw comes from :func:`~monai_roigan.utils.seeding.derived_rng` keyed by the seed, the
reference number and the element, so image ``k`` is identical whatever ``num_images`` is, and the anatomy
of an image does not depend on its lesion class.

Modules, in import order (each imports only from those above it):

* :mod:`~monai_roigan.data.phantom.common`: :data:`PHANTOM_VERSION`, :data:`DEFAULT_CLASS_WEIGHTS`,
  :data:`LESION_RADIUS_RANGES`, the other shared constants and :class:`PhantomLesion`;
* :mod:`~monai_roigan.data.phantom.primitives`: random fields and drawing primitives;
* :mod:`~monai_roigan.data.phantom.anatomy`: outline, thickness, pectoral muscle, gland envelope (steps 1-3);
* :mod:`~monai_roigan.data.phantom.tissue`: fibroglandular tissue and linear structures (steps 4-5);
* :mod:`~monai_roigan.data.phantom.lesions`: lesion renderers and placement (step 6);
* :mod:`~monai_roigan.data.phantom.film`: characteristic curve, background, label, artefacts (step 7);
* :mod:`~monai_roigan.data.phantom.render`: :func:`render_phantom_mammogram`;
* :mod:`~monai_roigan.data.phantom.dataset`: :func:`make_phantom_dataset` and :func:`format_info_row`;
* :mod:`~monai_roigan.data.phantom.cli`: :func:`main`, the ``roigan-phantom`` command (also
  ``python -m monai_roigan.data.phantom``).
"""

from monai_roigan.data.phantom.cli import main
from monai_roigan.data.phantom.common import (
    DEFAULT_CLASS_WEIGHTS,
    LESION_RADIUS_RANGES,
    PHANTOM_VERSION,
    PhantomLesion,
)
from monai_roigan.data.phantom.dataset import format_info_row, make_phantom_dataset
from monai_roigan.data.phantom.render import render_phantom_mammogram

__all__ = [
    "PhantomLesion",
    "render_phantom_mammogram",
    "make_phantom_dataset",
    "format_info_row",
    "main",
    "DEFAULT_CLASS_WEIGHTS",
    "LESION_RADIUS_RANGES",
    "PHANTOM_VERSION",
]
