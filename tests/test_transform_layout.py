"""The transforms in MONAI's layout: every dictionary transform has its ``D`` and ``Dict`` aliases, the topic folders
(``array.py``, ``dictionary.py``) hold the transforms, the pool helpers have one home in ``networks.pool``, and the
old import paths keep working."""

import importlib

import pytest
from monai.transforms import MapTransform

import monai_roigan.transforms as transforms
from monai_roigan.networks import pool

DICTIONARY_TRANSFORMS = sorted(
    name
    for name in transforms.__all__
    if isinstance(getattr(transforms, name), type)
    and issubclass(getattr(transforms, name), MapTransform)
    and name.endswith("d")
)


def test_the_dictionary_transforms_are_found():
    expected = {
        "CopyPasteLesiond",
        "ExtractROId",
        "InsertSyntheticLesiond",
        "LoadMammogramd",
        "MaskToCenterd",
        "SaveSyntheticDICOMd",
        "SyntheticROIAugmentd",
    }
    assert expected <= set(DICTIONARY_TRANSFORMS)


@pytest.mark.parametrize("name", DICTIONARY_TRANSFORMS)
def test_every_dictionary_transform_has_its_d_and_dict_aliases(name):
    cls = getattr(transforms, name)
    stem = name[:-1]
    for alias in (stem + "D", stem + "Dict"):
        assert alias in transforms.__all__, f"{alias} not exported by monai_roigan.transforms"
        assert getattr(transforms, alias) is cls
    topic = importlib.import_module(cls.__module__.rsplit(".", 1)[0])
    assert cls.__module__.endswith(".dictionary"), f"{name} lives in {cls.__module__}, not a dictionary.py"
    for alias in (name, stem + "D", stem + "Dict"):
        assert alias in topic.__all__ and getattr(topic, alias) is cls


@pytest.mark.parametrize("topic", ["synthetic", "copy_paste", "insertion", "io", "roi"])
def test_topic_folders_hold_array_and_dictionary_modules(topic):
    for part in ("array", "dictionary"):
        importlib.import_module(f"monai_roigan.transforms.{topic}.{part}")


def test_old_import_paths_still_work():
    from monai_roigan.transforms import DEFAULT_POOL_SIZE, ROIBank, SampleFilter
    from monai_roigan.transforms.copy_paste import CopyPasteLesion, CopyPasteLesiond, blend_mask, mark_unpasted
    from monai_roigan.transforms.insertion import InsertSyntheticLesion, InsertSyntheticLesiond
    from monai_roigan.transforms.synthetic import (
        SOURCE_IMAGE_KEYS,
        AcceptedCandidates,
        SyntheticROIAugment,
        SyntheticROIAugmentd,
        accepted_candidates,
        balancing_distribution,
        check_single_roi,
        mark_real,
        synthetic_meta,
    )

    assert (ROIBank, SampleFilter, DEFAULT_POOL_SIZE) == (pool.ROIBank, pool.SampleFilter, pool.DEFAULT_POOL_SIZE)
    assert accepted_candidates is pool.accepted_candidates and AcceptedCandidates is pool.AcceptedCandidates
    assert SyntheticROIAugmentd.__module__ == "monai_roigan.transforms.synthetic.dictionary"
    assert SyntheticROIAugment.__module__ == "monai_roigan.transforms.synthetic.array"
    assert CopyPasteLesiond.__module__ == "monai_roigan.transforms.copy_paste.dictionary"
    assert InsertSyntheticLesiond.__module__ == "monai_roigan.transforms.insertion.dictionary"
    assert all(callable(f) for f in (blend_mask, mark_unpasted, balancing_distribution, check_single_roi))
    assert all(callable(f) for f in (mark_real, synthetic_meta, CopyPasteLesion, InsertSyntheticLesion))
    assert "filename_or_obj" in SOURCE_IMAGE_KEYS


def test_everything_exported_imports():
    for module in ("monai_roigan.transforms", "monai_roigan.networks"):
        loaded = importlib.import_module(module)
        missing = [name for name in loaded.__all__ if not hasattr(loaded, name)]
        assert not missing, f"{module} exports {missing} but does not define them"


def test_the_pool_helpers_have_one_home():
    import monai_roigan.apps.synthetic_dataset as synthetic_dataset
    import monai_roigan.transforms.synthetic.array as array

    for name in ("ROIBank", "accepted_candidates", "AcceptedCandidates"):
        assert getattr(pool, name).__module__ == "monai_roigan.networks.pool"
    assert array.ROIBank is pool.ROIBank and synthetic_dataset.accepted_candidates is pool.accepted_candidates
