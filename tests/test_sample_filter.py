"""The sample filter: only synthetic ROIs a real-trained classifier places in their class at or above the threshold
are kept, by the augmentation and by the balanced dataset; acceptance rates, the share cap, the cache, errors."""

from collections import Counter

import numpy as np
import pytest
import torch
from monai.data import MetaTensor

import monai_roigan.apps.sample_filter as sample_filter_module
from monai_roigan.apps import ConfidenceFilter, SyntheticBalancedDataset
from monai_roigan.data import ABNORMALITY_CLASSES
from monai_roigan.transforms import SyntheticROIAugment, SyntheticROIAugmentd

CENTRES = torch.tensor([-0.9 + 0.6 * k for k in range(4)])


class VaryingBrightness(torch.nn.Module):
    """A 'generator' whose ROI brightness is its class's centre shifted by 0.5 * z[0]: some ROIs drift to a
    neighbour."""

    latent_dim = 100
    num_classes = 4
    output_size = 64

    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(()))

    def forward(self, z, labels):
        level = CENTRES[labels] + 0.5 * z[:, 0]
        return (self.scale * level).view(-1, 1, 1, 1).expand(-1, 1, 64, 64).clamp(-1, 1)


class BrightnessJudge(torch.nn.Module):
    """A 'classifier' whose logits say how close an ROI's mean brightness is to each class centre."""

    def forward(self, images):
        return -40.0 * (images.mean(dim=(1, 2, 3))[:, None] - CENTRES[None]) ** 2


def confidence_of(images, class_index):
    return ConfidenceFilter(BrightnessJudge(), 0.5).confidence(images, class_index)


def real_items(counts=(2, 4, 6, 8)):
    items = []
    for label, n in enumerate(counts):
        items += [
            {"image": MetaTensor(torch.full((1, 64, 64), float(CENTRES[label]))), "label": label} for _ in range(n)
        ]
    return items


def test_the_filter_keeps_exactly_the_samples_at_or_above_the_threshold():
    images = torch.stack([torch.full((1, 64, 64), v) for v in np.linspace(-1, 1, 41)])
    keep = ConfidenceFilter(BrightnessJudge(), 0.7)(images, 2)
    confidence = confidence_of(images, 2)
    assert torch.equal(keep, confidence >= 0.7) and 0 < int(keep.sum()) < len(images)


@pytest.mark.parametrize("threshold", [0.6, 0.9])
def test_augmentation_puts_out_only_accepted_rois_and_reports_the_rate(threshold):
    augment = SyntheticROIAugmentd(
        "image", VaryingBrightness(), prob=1.0, sample_filter=ConfidenceFilter(BrightnessJudge(), threshold)
    ).set_random_state(0)
    outputs = [augment({"image": torch.zeros(1, 64, 64), "label": k % 4}) for k in range(40)]
    for out in outputs:
        assert out["image"].meta["synthetic"] is True
        assert float(confidence_of(out["image"][None], out["label"])) >= threshold
    rates = augment.acceptance_rates()
    assert set(rates) == set(ABNORMALITY_CLASSES) and all(0 < r < 1 for r in rates.values()), rates
    unfiltered = SyntheticROIAugmentd("image", VaryingBrightness(), prob=1.0).set_random_state(0)
    low = [
        float(confidence_of(unfiltered({"image": torch.zeros(1, 64, 64), "label": 1})["image"][None], 1))
        for _ in range(40)
    ]
    assert min(low) < threshold, "the control: without the filter some ROIs fall below the threshold"


def test_same_seed_same_filtered_rois():
    def run():
        augment = SyntheticROIAugment(
            VaryingBrightness(), prob=1.0, sample_filter=ConfidenceFilter(BrightnessJudge(), 0.8)
        )
        augment.set_random_state(3)
        return torch.stack([augment(torch.zeros(1, 64, 64), k % 4) for k in range(12)])

    assert torch.equal(run(), run())


def test_balanced_dataset_fills_the_plan_with_accepted_rois_only():
    keep = ConfidenceFilter(BrightnessJudge(), 0.8)
    dataset = SyntheticBalancedDataset(real_items(), VaryingBrightness(), sample_filter=keep, batch_size=8)
    assert dataset.class_counts() == dict.fromkeys(ABNORMALITY_CLASSES, 8)
    synthetic = [dataset[i] for i in range(20, len(dataset))]
    assert len(synthetic) == 6 + 4 + 2
    for item in synthetic:
        assert float(confidence_of(item["image"][None], item["label"])) >= 0.8
    rates = dataset.acceptance_rates()
    assert set(rates) == {"architectural_distortion", "asymmetry", "calcification"} and all(
        0 < r < 1 for r in rates.values()
    )
    again = SyntheticBalancedDataset(real_items(), VaryingBrightness(), sample_filter=keep, batch_size=8)
    assert all(torch.equal(again[i]["image"], dataset[i]["image"]) for i in range(20, len(dataset)))
    indices = [item["image"].meta["synthetic_index"] for item in synthetic if item["label"] == 0]
    assert indices == sorted(indices) and len(set(indices)) == len(indices)


def test_share_cap_of_the_dataset_and_of_the_augmentation():
    dataset = SyntheticBalancedDataset(real_items(), VaryingBrightness(), max_synthetic_share=0.5)
    assert dataset.class_counts() == {"architectural_distortion": 4, "asymmetry": 8, "calcification": 8, "mass": 8}
    augment = SyntheticROIAugmentd("image", VaryingBrightness(), prob=1.0, max_synthetic_share=0.25).set_random_state(0)
    counts = Counter()
    for k in range(80):
        out = augment({"image": torch.zeros(1, 64, 64), "label": k % 4})
        counts[(out["label"], out["image"].meta["synthetic"])] += 1
    for label in range(4):
        assert counts[(label, True)] / 20 == pytest.approx(0.25)


@pytest.mark.parametrize("threshold", [0.0, 1.0, -0.2, 1.5])
def test_threshold_outside_the_open_interval_is_refused(threshold):
    with pytest.raises(ValueError, match=f"min_confidence must be in \\(0, 1\\), got {threshold}"):
        ConfidenceFilter(BrightnessJudge(), threshold)


@pytest.mark.parametrize("share", [0.0, 1.5, -1])
def test_share_outside_the_interval_is_refused(share):
    with pytest.raises(ValueError, match=f"max_synthetic_share must be in \\(0, 1\\], got {share}"):
        SyntheticROIAugment(VaryingBrightness(), max_synthetic_share=share)


def test_a_filter_that_rejects_everything_says_so(caplog):
    reject_all = lambda images, class_index: torch.zeros(len(images), dtype=torch.bool)  # noqa: E731
    pooled = SyntheticROIAugment(VaryingBrightness(), prob=1.0, sample_filter=reject_all, bank_size=16)
    assert "rejected 4096 synthetic ROIs of generator class 3 in a row: its pool holds 0 of 512" in caplog.text
    fresh = SyntheticROIAugment(VaryingBrightness(), prob=1.0, sample_filter=reject_all, bank_size=16, pool_size=None)
    for augment in (pooled, fresh):
        with pytest.raises(RuntimeError, match=r"rejected \d{4} synthetic ROIs of generator class 3 in a row"):
            augment(torch.zeros(1, 64, 64), 3)
    dataset = SyntheticBalancedDataset(real_items(), VaryingBrightness(), sample_filter=reject_all, max_rejected=64)
    assert len(dataset) == len(real_items()) and dataset.acceptance_rates()["asymmetry"] == 0.0
    assert "rejected 64 synthetic architectural_distortion ROIs in a row: 0 of 6 kept" in caplog.text


def test_a_pool_the_filter_leaves_short_holds_what_it_accepted(caplog):
    seen = set()

    def first_only(images, class_index):  # accepts the first candidate of each class, nothing after it
        keep = torch.zeros(len(images), dtype=torch.bool)
        keep[0] = class_index not in seen
        seen.add(class_index)
        return keep

    augment = SyntheticROIAugment(VaryingBrightness(), prob=1.0, sample_filter=first_only, max_synthetic_share=None)
    assert "generator class 2 in a row: its pool holds 1 of 512" in caplog.text
    outs = [augment.set_random_state(seed)(torch.zeros(1, 64, 64), 2) for seed in range(3)]
    assert all(o.meta["synthetic_index"] == 0 and torch.equal(o, outs[0]) for o in outs)
    assert augment.acceptance_rates()["calcification"] == pytest.approx(
        1 / 4160
    )  # 65 batches of 64 until 4096 in a row


def test_fitted_classifier_is_cached_and_refitted_for_other_data(tmp_path, monkeypatch):
    items = real_items((6, 6, 6, 6))
    images = torch.stack([i["image"].as_tensor() for i in items]) + 0.05 * torch.randn(
        24, 1, 64, 64, generator=torch.Generator().manual_seed(0)
    )
    labels = torch.tensor([i["label"] for i in items])
    cache = tmp_path / "models" / "sample_filter.pt"
    first = ConfidenceFilter.fit(images, labels, 4, 0.5, cache=cache, epochs=3)
    assert cache.is_file()
    fits = []
    monkeypatch.setattr(
        sample_filter_module, "train_roi_classifier", lambda *a, **k: fits.append(1) or first.classifier
    )
    second = ConfidenceFilter.fit(images, labels, 4, 0.7, cache=cache, epochs=3)
    assert not fits and second.min_confidence == 0.7
    assert torch.equal(second.confidence(images, 1), first.confidence(images, 1))
    ConfidenceFilter.fit(images[:20], labels[:20], 4, 0.5, cache=cache, epochs=3)
    assert fits == [1], "other ROIs: the cache is refitted"
    with pytest.raises(ValueError, match="generator class indices 0..3"):
        ConfidenceFilter.fit(images, labels + 1, 4, 0.5)


def test_the_bundle_fits_the_filter_once_beside_the_model(tmp_path):
    from monai.bundle import ConfigParser

    from tests.conftest import REPO

    items = real_items((3, 3, 3, 3))

    def parsed():
        parser = ConfigParser()
        parser.read_config(str(REPO / "bundle" / "configs" / "train.json"))
        parser["bundle_root"] = str(tmp_path)
        parser["roi_datalist"] = items
        parser["min_confidence"] = 0.6
        return parser.get_parsed_content("sample_filter")

    keep = parsed()
    assert isinstance(keep, ConfidenceFilter) and keep.min_confidence == 0.6
    cache = tmp_path / "models" / "sample_filter.pt"
    stamp = cache.stat().st_mtime_ns
    assert torch.equal(parsed().confidence(torch.zeros(2, 1, 64, 64), 1), keep.confidence(torch.zeros(2, 1, 64, 64), 1))
    assert cache.stat().st_mtime_ns == stamp, "the second run reads the cached classifier"
