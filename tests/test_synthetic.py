"""SyntheticROIAugment(d) and SyntheticBalancedDataset: behaviour, label forms, meta, determinism, workers, errors."""

import json
import os
import re
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest
import torch
from monai.data import CacheDataset, DataLoader, MetaTensor
from monai.transforms import Compose
from monai.utils import set_determinism

from monai_roigan.apps import SyntheticBalancedDataset
from monai_roigan.data import ABNORMALITY_CLASSES
from monai_roigan.networks import PRESETS, GeneratorSource, ROIGenerator
from monai_roigan.transforms import SyntheticROIAugment, SyntheticROIAugmentd
from tests.conftest import REPO

MASS = ABNORMALITY_CLASSES.index("mass")


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """An exported (untrained) tiny conditional generator: outputs vary with z and the class."""
    torch.manual_seed(0)
    g = ROIGenerator(num_classes=4, width=PRESETS["tiny"])
    path = tmp_path_factory.mktemp("gen") / "model.pt"
    torch.save(g.state_dict(), path)
    return path


class ClassBrightness(torch.nn.Module):
    """A 'generator' whose ROIs have a brightness set by the class and a pattern set by z (latent_dim 100)."""

    latent_dim = 100
    num_classes = 4
    output_size = 64

    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(()))

    def forward(self, z, labels):
        base = (-0.9 + 0.6 * labels.float()).view(-1, 1, 1, 1)
        pattern = 0.05 * z[:, :1].view(-1, 1, 1, 1) * torch.linspace(-1, 1, 64).view(1, 1, 1, 64)
        return (self.scale * (base + pattern)).expand(-1, 1, 64, 64).clamp(-1, 1)


def rois(n=16, value=0.0):
    return [
        {
            "image": MetaTensor(
                torch.full((1, 64, 64), value),
                meta={"source_path": f"/data/mdb{k:03d}.pgm", "class_name": ABNORMALITY_CLASSES[k % 4]},
            ),
            "label": k % 4,
        }
        for k in range(n)
    ]


def test_replaces_with_the_samples_class_and_marks_meta():
    t = SyntheticROIAugment(ClassBrightness(), prob=1.0).set_random_state(0)
    img = MetaTensor(torch.zeros(1, 64, 64), meta={"source_path": "/data/patient.pgm", "class_name": "mass"})
    out = t(img, MASS)
    assert isinstance(out, MetaTensor) and out.shape == (1, 64, 64) and out.dtype == torch.float32
    assert float(out.mean()) == pytest.approx(-0.9 + 0.6 * MASS, abs=0.06)
    assert out.meta["synthetic"] is True and out.meta["synthetic_class"] == "mass"
    assert "patient" not in out.meta["source_path"] and out.meta["filename_or_obj"].startswith("synthetic_mass_")
    assert "ClassBrightness sha256:" in out.meta["synthetic_generator"] and out.meta["synthetic_seed"] >= 0
    kept = SyntheticROIAugment(ClassBrightness(), prob=0.0)(img.clone(), MASS)
    assert torch.equal(kept, img) and kept.meta["synthetic"] is False


@pytest.mark.parametrize(
    "label", [MASS, np.int64(MASS), torch.tensor(MASS), "mass", [0, 0, 0, 1], torch.tensor([0.0, 0, 0, 1])]
)
def test_label_forms(label):
    t = SyntheticROIAugment(ClassBrightness(), prob=1.0).set_random_state(1)
    assert float(t(torch.zeros(1, 64, 64), label).mean()) == pytest.approx(-0.9 + 0.6 * MASS, abs=0.06)


def test_matches_the_pipeline_shape_dtype_and_range():
    t = SyntheticROIAugment(ClassBrightness(), prob=1.0, intensity_range=(0.0, 1.0)).set_random_state(0)
    out = t(torch.zeros(3, 96, 96, dtype=torch.float64), "architectural_distortion")
    assert out.shape == (3, 96, 96) and out.dtype == torch.float64
    assert float(out.mean()) == pytest.approx(0.05, abs=0.03)  # -0.9 in [-1, 1] is 0.05 in [0, 1]
    arr = t(np.zeros((1, 64, 64), np.float32), 0)
    assert isinstance(arr, np.ndarray) and arr.dtype == np.float32


@pytest.mark.parametrize("pool_size", [512, None])
def test_same_seed_same_samples_other_seed_other_samples(weights, pool_size):
    def draw(seed):
        t = SyntheticROIAugmentd("image", weights, prob=0.5, pool_size=pool_size).set_random_state(seed)
        return torch.stack([t(item)["image"].as_tensor() for item in rois(24)])

    first = draw(3)
    again = draw(3)
    other = draw(4)
    assert torch.equal(first, again) and not torch.equal(first, other)


def test_dict_version_maps_classes_and_rewrites_labels():
    names = [*ABNORMALITY_CLASSES, "normal"]
    t = SyntheticROIAugmentd(
        "image", ClassBrightness(), prob=1.0, class_names=names, class_map={"normal": "architectural_distortion"}
    ).set_random_state(0)
    for label, expected in [(4, 0), ("normal", "architectural_distortion"), (np.eye(5)[4], np.eye(5)[0])]:
        out = t({"image": torch.zeros(1, 64, 64), "label": label})
        np.testing.assert_array_equal(out["label"], expected)
        assert float(out["image"].mean()) == pytest.approx(-0.9, abs=0.06)
    balanced = SyntheticROIAugmentd("image", ClassBrightness(), prob=1.0, target_distribution={"mass": 1.0})
    out = balanced.set_random_state(0)({"image": torch.zeros(1, 64, 64), "label": 0})
    assert out["label"] == MASS and out["image"].meta["synthetic_class"] == "mass"
    normal = SyntheticROIAugmentd("image", ClassBrightness(), prob=1.0, class_names=names)
    assert normal({"image": torch.zeros(1, 64, 64), "label": 4})["image"].meta["synthetic"] is False  # no mapping


def test_errors_at_construction(tmp_path, weights):
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        SyntheticROIAugment(tmp_path / "missing.pt")
    (tmp_path / "corrupt.pt").write_bytes(b"\x80\x04 not a checkpoint")
    with pytest.raises(ValueError, match="corrupt.pt"):
        SyntheticROIAugment(tmp_path / "corrupt.pt")
    torch.save(ROIGenerator(num_classes=3, width=PRESETS["tiny"]).state_dict(), tmp_path / "three.pt")
    with pytest.raises(ValueError, match="three.pt: generator has 3 classes, expected 4"):
        SyntheticROIAugment(tmp_path / "three.pt")
    torch.save(ROIGenerator(num_classes=0, width=PRESETS["tiny"]).state_dict(), tmp_path / "uncond.pt")
    with pytest.raises(ValueError, match="unconditional"):
        SyntheticROIAugment(tmp_path / "uncond.pt")
    with pytest.raises(ValueError, match="class_map entry"):
        SyntheticROIAugmentd("image", weights, class_map={"normal": "mass"})
    with pytest.raises(ValueError, match="unknown classes"):
        SyntheticROIAugmentd("image", weights, target_distribution={"cyst": 1.0})
    t = SyntheticROIAugment(weights)
    with pytest.raises(ValueError, match="unknown class name 'cyst'"):
        t(torch.zeros(1, 64, 64), "cyst")
    with pytest.raises(ValueError, match="label 7 out of range"):
        t(torch.zeros(1, 64, 64), 7)


def test_bundle_folder_source_names_version_and_hash(tmp_path, weights):
    (tmp_path / "models").mkdir()
    (tmp_path / "configs").mkdir()
    (tmp_path / "models" / "model.pt").write_bytes(weights.read_bytes())
    (tmp_path / "configs" / "metadata.json").write_text(json.dumps({"version": "9.9.9"}))
    source = GeneratorSource(tmp_path)
    assert source.describe().startswith("monai-roigan bundle 9.9.9 sha256:") and source.num_classes == 4
    with pytest.raises(FileNotFoundError, match="has no trained generator"):
        GeneratorSource(tmp_path / "configs")


@pytest.mark.parametrize("context, pool_size", [("fork", 512), ("spawn", 512), ("fork", None), ("spawn", None)])
def test_compose_cachedataset_dataloader_with_two_workers(weights, context, pool_size):
    """Workers receive the pool (or, with pool_size=None, load the generator themselves); MONAI seeds them, so two
    runs give the same batches."""

    def run():
        set_determinism(seed=11)
        augment = SyntheticROIAugmentd("image", weights, prob=0.5, pool_size=pool_size)
        ds = CacheDataset(rois(32), Compose([augment]), progress=False)
        loader = DataLoader(ds, batch_size=8, num_workers=2, multiprocessing_context=context)
        batches = list(loader)
        return torch.cat([b["image"].as_tensor() for b in batches]), sum(
            int(b["image"].meta["synthetic"].sum()) for b in batches
        )

    images, synthetic = run()
    again, _ = run()
    assert torch.equal(images, again) and 4 < synthetic < 28  # prob 0.5 of 32 items, and batches collate


def test_balanced_dataset_tops_up_minorities_deterministically(weights):
    data = [item for item in rois(40) if item["label"] in (0, 3)] + rois(4)[:3]  # classes 0 and 3 dominate
    ds = SyntheticBalancedDataset(data, weights, seed=5)
    counts = ds.class_counts()
    assert set(counts.values()) == {11} and len(ds) == 44
    labels = Counter(ds[i]["label"] for i in range(len(data), len(ds)))
    assert labels == Counter({1: 10, 2: 10, 3: 1})
    first = ds[len(data)]["image"]
    assert first.meta["synthetic"] is True and first.shape == (1, 64, 64)
    other = SyntheticBalancedDataset(data, weights, seed=5)
    assert torch.equal(other[len(data)]["image"], first)  # an index always gives the same ROI
    batch = next(iter(DataLoader(ds, batch_size=len(ds))))  # real and synthetic items collate together
    assert batch["image"].shape == (44, 1, 64, 64) and int(batch["image"].meta["synthetic"].sum()) == 21
    with pytest.raises(ValueError, match="does not know"):
        SyntheticBalancedDataset(data, weights, target={"cyst": 3})


@pytest.mark.parametrize("order", [("transforms", "data", "apps"), ("apps", "data", "transforms"), ("data", "apps")])
def test_subpackages_import_in_any_order(order):
    """No import loop between the layers: each order works in a fresh interpreter."""
    imports = ", ".join("monai_roigan." + p for p in order)
    code = f"import {imports}; print(monai_roigan.apps.SyntheticBalancedDataset.__name__)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "SyntheticBalancedDataset" in out.stdout, out.stderr[-2000:]


def test_example_runs_and_prints_three_arms(tmp_path, weights):
    cmd = [
        sys.executable,
        str(REPO / "examples" / "classify_with_synthetic.py"),
        "--model",
        str(weights),
        "--cache_dir",
        str(tmp_path / "train"),
        "--test_cache_dir",
        str(tmp_path / "test"),
        "--num_images",
        "16",
        "--steps",
        "3",
    ]
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    rows = [line for line in out.stdout.splitlines() if line.startswith(("real only", "+ Synthetic"))]
    assert len(rows) == 3 and all(0 <= float(r.split()[-6]) <= 1 for r in rows)


def test_truncation_scales_latents_and_is_checked(weights):
    from monai_roigan.networks import latent_for

    full, half = latent_for(3, 1, 7, 100), latent_for(3, 1, 7, 100, truncation=0.5)
    torch.testing.assert_close(half, 0.5 * full)
    with pytest.raises(ValueError, match="truncation must lie in"):
        latent_for(3, 1, 7, 100, truncation=1.5)
    with pytest.raises(ValueError, match="truncation must lie in"):
        SyntheticROIAugment(weights, truncation=0.0)
    a = SyntheticROIAugment(weights, prob=1.0, truncation=0.5).set_random_state(2)(torch.zeros(1, 64, 64), 1)
    b = SyntheticROIAugment(weights, prob=1.0).set_random_state(2)(torch.zeros(1, 64, 64), 1)
    assert not torch.equal(a, b)


class GeneratesOnlyIn(ClassBrightness):
    """ClassBrightness that refuses to run in any process but the one that built it (a worker that generates fails)."""

    def __init__(self):
        super().__init__()
        self.home = os.getpid()

    def forward(self, z, labels):
        if os.getpid() != self.home:
            raise RuntimeError(f"the generator ran in process {os.getpid()}, a DataLoader worker")
        return super().forward(z, labels)


@pytest.mark.parametrize("persistent", [False, True])
def test_pooled_workers_never_run_the_generator(persistent):
    """The default pool is built before the workers start; fresh generation (pool_size=None) runs in them."""

    def epochs(pool_size):
        augment = SyntheticROIAugmentd("image", GeneratesOnlyIn(), prob=1.0, pool_size=pool_size)
        loader = DataLoader(
            CacheDataset(rois(16), Compose([augment]), progress=False),
            batch_size=4,
            num_workers=2,
            multiprocessing_context="fork",
            persistent_workers=persistent,
        )
        return [int(b["image"].meta["synthetic"].sum()) for _ in range(2) for b in loader]

    assert sum(epochs(pool_size=16)) == 32  # two epochs, every ROI replaced
    with pytest.raises(RuntimeError, match="a DataLoader worker"):
        epochs(pool_size=None)


def test_the_pool_is_drawn_with_replacement_and_its_provenance_reproduces_each_roi(weights):
    from monai_roigan.networks import synthesize

    t = SyntheticROIAugment(weights, prob=1.0, pool_size=8, pool_seed=3).set_random_state(0)
    outs = [t(torch.zeros(1, 64, 64), MASS) for _ in range(40)]
    indices = {out.meta["synthetic_index"] for out in outs}
    assert indices <= set(range(8)) and len(indices) > 4 and {out.meta["synthetic_seed"] for out in outs} == {3}
    network = t.source.get()
    for out in outs[:5]:
        again = synthesize(network, MASS, [out.meta["synthetic_index"]], seed=3)[0]
        torch.testing.assert_close(out.as_tensor(), again, rtol=0, atol=1e-6)
    assert t.bank.generated == {c: 8 for c in range(4)}  # one batch of pool_size per class, at construction
    names = {out.meta["filename_or_obj"] for out in outs}
    assert len(names) == 40 and all(out.meta["synthetic_draw"] >= 0 for out in outs)  # 40 outputs, 40 file names
    pool = t.bank.pool[MASS][0].clone()
    outs[0].add_(1.0)  # an output is the caller's to change: the pool is not touched
    assert torch.equal(t.bank.pool[MASS][0], pool)
    fresh = SyntheticROIAugment(weights, prob=1.0, pool_size=None).set_random_state(0)
    assert fresh(torch.zeros(1, 64, 64), MASS).meta["synthetic_draw"] == -1  # fresh latents are unique already
    other = SyntheticROIAugment(weights, prob=1.0, pool_size=8, pool_seed=4).set_random_state(0)
    assert not torch.equal(other(torch.zeros(1, 64, 64), MASS), outs[0])


def test_only_the_pipelines_generator_classes_are_pooled_and_the_size_is_checked():
    t = SyntheticROIAugmentd("image", ClassBrightness(), class_names=["normal", "mass", "asymmetry"], pool_size=4)
    assert sorted(t.augment.bank.pool) == [1, 3] and t.augment.bank.pool[3][0].shape == (4, 1, 64, 64)
    targeted = SyntheticROIAugmentd("image", ClassBrightness(), target_distribution={"mass": 2.0, "asymmetry": 0.0})
    assert sorted(targeted.augment.bank.pool) == [3]  # only what the distribution can draw
    mapped = SyntheticROIAugmentd(
        "image", ClassBrightness(), class_names=["normal", "mass"], class_map={"normal": "mass"}
    )
    assert sorted(mapped.augment.bank.pool) == [3]
    with pytest.raises(KeyError, match="generator class 0 is not pooled"):
        SyntheticROIAugment(ClassBrightness(), prob=1.0, pool_classes=["mass"])(torch.zeros(1, 64, 64), 0)
    for bad in (0, -3, 2.5, True, "64"):
        with pytest.raises(
            ValueError, match=f"pool_size must be a positive integer or None .*got {re.escape(repr(bad))}"
        ):
            SyntheticROIAugment(ClassBrightness(), pool_size=bad)
