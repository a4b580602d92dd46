"""Evaluation: mammogram splits, the balance mode, set comparisons, the report and the downstream experiment."""

import csv
import json
import re
from functools import partial

import numpy as np
import pytest
import torch

from monai_roigan.apps import training_datalist, training_rois, women_record_path
from monai_roigan.data import mias_datalist
from monai_roigan.data.phantom import make_phantom_dataset
from monai_roigan.data.splits import group_kfold, holdout_groups, split_datalist
from monai_roigan.engines import balancing_weights, roi_items, train_roi_classifier
from monai_roigan.evaluation import (
    ARMS,
    NON_SYNTHETIC_ARMS,
    TASKS,
    EvaluationROIs,
    ROISet,
    as_evaluation_rois,
    evaluate_generator,
    evaluation_rois,
    expand_arms,
    fold_scores,
    interval,
    noise_like,
    normal_scores,
    run_downstream,
    sensitivity_at_specificity,
    tune_baselines,
)
from monai_roigan.evaluation.arms import COUNTERPART_ARMS, ArmData, arm_dataset, arm_inputs
from monai_roigan.evaluation.evaluate import synthetic_teaches
from monai_roigan.evaluation.judge import judge, read_predictions, score_names
from monai_roigan.metrics import compare_sets
from monai_roigan.networks import PRESETS
from monai_roigan.networks.nets import ContextROIGenerator, ROIGenerator
from monai_roigan.transforms import NormalCounterpart, NormalCounterpartd, balancing_distribution
from monai_roigan.utils.errors import ConfigurationError

CLASSES = ["architectural_distortion", "asymmetry", "calcification", "mass"]


def toy_groups(seed=0):
    """60 ROIs of 30 mammograms (two ROIs each, one class per mammogram), classes 2:4:8:16 mammograms."""
    rng = np.random.default_rng(seed)
    per_class = [2, 4, 8, 16]
    groups, labels = [], []
    for label, count in enumerate(per_class):
        for m in range(count):
            groups += [f"c{label}m{m}"] * 2
            labels += [label] * 2
    order = rng.permutation(len(groups))
    return np.array(groups)[order], np.array(labels)[order]


def test_holdout_is_by_mammogram_stratified_deterministic_and_order_free():
    groups, labels = toy_groups()
    held = holdout_groups(groups, labels, 0.25, seed=3)
    assert held == holdout_groups(groups, labels, 0.25, seed=3)
    shuffled = np.random.default_rng(1).permutation(len(groups))
    assert held == holdout_groups(groups[shuffled], labels[shuffled], 0.25, seed=3)  # input order does not matter
    assert held != holdout_groups(groups, labels, 0.25, seed=4)
    for label, count in enumerate([2, 4, 8, 16]):
        of_class = set(groups[labels == label])
        assert len(held & of_class) == max(1, round(0.25 * count))  # every class on both sides
        assert of_class - held
    assert holdout_groups(groups, labels, 0.0) == set()
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        holdout_groups(groups, labels, 1.0)


def test_group_kfold_keeps_mammograms_together_and_spreads_classes():
    groups, labels = toy_groups()
    folds = group_kfold(groups, labels, 2, seed=0)
    for g in set(groups):
        assert len(set(folds[groups == g])) == 1
    for label in range(4):
        assert set(folds[labels == label]) == {0, 1}  # each class (>= 2 mammograms) in both folds
    assert np.array_equal(folds, group_kfold(groups, labels, 2, seed=0))
    four = group_kfold(groups, labels, 4, seed=0)
    assert np.bincount(four[labels == 3]).tolist() == [8, 8, 8, 8]  # 16 mammograms of 2 ROIs over 4 folds
    with pytest.raises(ValueError, match="at least 40 mammograms"):
        group_kfold(groups, labels, 40)


def test_training_datalist_leaves_the_held_out_mammograms_out(phantom_dir, tmp_path):
    cache = training_rois(tmp_path, phantom_dir, augment="rot90")
    everything = training_datalist(cache, CLASSES)
    kept = training_datalist(cache, CLASSES, holdout_fraction=0.3, split_seed=2)
    train, held = split_datalist(everything, 0.3, 2)
    assert [i["group"] for i in kept] == [i["group"] for i in train]
    assert held and not {i["group"] for i in kept} & {i["group"] for i in held}
    assert len(kept) + len(held) == len(everything)


def test_evaluation_refuses_a_real_dataset_without_hold_out(phantom_dir, tmp_path):
    with pytest.raises(ConfigurationError, match="holdout_fraction > 0"):
        evaluation_rois(tmp_path, phantom_dir)
    train, held, source = evaluation_rois(tmp_path, phantom_dir, holdout_fraction=0.3, split_seed=1)[:3]
    assert "held-out women" in source
    assert not set(train.groups) & set(held.groups) and set(held.labels) == {0, 1, 2, 3}


@pytest.mark.parametrize("counts", [{"a": 11, "b": 9, "c": 13, "d": 34}, {"a": 5, "b": 50}, {"a": 7, "b": 7}])
def test_balance_mode_makes_the_expected_class_shares_equal(counts):
    prob, target = balancing_distribution(counts)
    n = sum(counts.values())
    after = [(1 - prob) * counts[c] / n + prob * target[c] for c in counts]
    np.testing.assert_allclose(after, 1 / len(counts), atol=1e-12)
    assert min(target.values()) >= 0 and sum(target.values()) == pytest.approx(1)
    if prob > 0:  # the smallest prob that balances: no synthetic ROI of the largest class
        assert target[max(counts, key=counts.get)] == pytest.approx(0, abs=1e-12)
        with pytest.raises(ValueError, match="cannot balance"):
            balancing_distribution(counts, prob / 2)
    else:
        assert prob == 0.0 and set(target.values()) == {0.5}


def test_compare_sets_known_answers():
    rng = np.random.default_rng(0)
    images = np.clip(rng.normal(0, 0.3, (40, 1, 64, 64)), -1, 1).astype(np.float32)
    images[:20] += np.linspace(-0.5, 0.5, 64, dtype=np.float32)  # two kinds of image, so features vary
    labels = np.repeat([0, 1], 20)
    classifier = train_roi_classifier(roi_items(torch.as_tensor(images), labels), int(labels.max()) + 1, epochs=3)

    def encode(x):
        return np.asarray(x, dtype=np.float64).reshape(len(x), -1)[:, ::64]  # 64 pixels as features

    same = compare_sets(images, labels, images, encode, classifier, gs_repeats=3)
    assert same["fid"] == pytest.approx(0, abs=1e-6) and same["precision"] == same["recall"] == 1.0
    assert same["geometry_score"] == pytest.approx(0, abs=1e-12)
    noise = noise_like(ROISet(images, labels, np.array(["x"] * 40)), seed=1)
    worse = compare_sets(noise.images, noise.labels, images, encode, classifier, gs_repeats=3)
    assert worse["fid"] > 1.0 and worse["precision"] < same["precision"] and worse["kid"] > same["kid"]
    empty = compare_sets(images[:0], labels[:0], images, encode, classifier)
    assert np.isnan(empty["fid"]) and empty["n_candidate"] == 0


def test_noise_ceiling_matches_the_moments_and_is_seeded():
    rng = np.random.default_rng(0)
    real = ROISet((rng.random((8, 1, 64, 64)) * 0.4 - 0.5).astype(np.float32), np.arange(8) % 2, np.array(["m"] * 8))
    noise = noise_like(real, seed=3)
    assert noise.images.shape == real.images.shape and np.array_equal(noise.labels, real.labels)
    assert abs(noise.images.mean() - real.images.mean()) < 0.01 and abs(noise.images.std() - real.images.std()) < 0.01
    assert np.array_equal(noise.images, noise_like(real, seed=3).images)


def test_fold_scores_and_intervals_known_answers():
    class Oracle(torch.nn.Module):  # predicts the label stored in the first pixel
        def forward(self, x):
            return torch.nn.functional.one_hot(x[:, 0, 0, 0].long(), 4).float() * 10

    labels = np.array([0, 0, 1, 2, 2, 2])
    test = ROISet(
        np.broadcast_to(labels[:, None, None, None], (6, 1, 4, 4)).astype(np.float32), labels, labels.astype(str)
    )
    scores = fold_scores(Oracle(), test, CLASSES)
    assert scores["accuracy"] == scores["balanced_accuracy"] == scores["macro_auc"] == 1.0
    assert np.isnan(scores["recall_mass"])  # class 3 is absent from the fold
    mean, low, high = interval([1.0, 2.0, 3.0])
    assert mean == 2.0 and high - mean == pytest.approx(4.302653 / np.sqrt(3), rel=1e-5)
    assert np.isnan(interval([0.5])[1]) and np.isnan(interval([])[0])


@pytest.fixture(scope="module")
def tiny_setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("evaluation")
    generator = ROIGenerator(latent_dim=16, num_classes=4, width=1 / 64).eval()
    rois = evaluation_rois(root / "cache", num_phantom_images=16, normal_per_image=2)
    return root, generator, rois


def test_normal_rois_follow_the_split_by_woman(tmp_path):
    """With a hold-out, normal ROIs of a woman go to her lesions' side; no woman is on both sides."""
    rois = evaluation_rois(tmp_path, num_phantom_images=16, holdout_fraction=0.3, normal_per_image=2)
    plain = evaluation_rois(tmp_path, num_phantom_images=16, holdout_fraction=0.3)
    assert np.array_equal(rois.held_out.groups, plain.held_out.groups)  # the generator's lesion split is kept
    assert len(rois.normal_train) and len(rois.normal_held_out) and not len(plain.normal_train)
    assert set(rois.normal_train.labels) == set(rois.normal_held_out.labels) == {len(CLASSES)}
    train_women = set(rois.train.groups) | set(rois.normal_train.groups)
    held_women = set(rois.held_out.groups) | set(rois.normal_held_out.groups)
    assert not train_women & held_women
    # an independent phantom's women are other women under the same file names: renamed
    rois = evaluation_rois(tmp_path / "independent", num_phantom_images=16, normal_per_image=2)
    held_women = set(rois.held_out.groups) | set(rois.normal_held_out.groups)
    assert len(rois.normal_held_out) and all(str(g).startswith("phantom1-mias-w") for g in held_women)
    assert not held_women & (set(rois.train.groups) | set(rois.normal_train.groups))


def test_evaluation_report_files_and_consistent_numbers(tiny_setup):
    root, generator, rois = tiny_setup
    report = evaluate_generator(
        generator,
        rois,
        root / "eval",
        CLASSES,
        num_per_class=6,
        table_images=4,
        classifier_epochs=1,
        gs_repeats=2,
        realism_repeats=2,
        realism_steps=3,
    )
    text = report.read_text()
    assert "## Realism: can a classifier tell the synthetic ROIs from real ones?" in text
    assert "| real vs real (floor) |" in text and "| synthetic |" in text
    assert (root / "eval" / "realism.md").is_file() and (root / "eval" / "realism_spectrum.csv").is_file()
    for name in CLASSES:
        assert f"## {name}" in text and (root / "eval" / f"boxplot_{name}.png").stat().st_size > 1000
        assert (root / "eval" / f"grid_{name}.png").is_file()
    assert "Real vs real (floor)" in text and "Noise (ceiling)" in text and "BRISQUE: unavailable" in text
    assert "ROI-mammoGAN, paper Table 10" in text and "independent phantom (seed 1, 16 mammograms)" in text
    assert text.count("Train on synthetic, test on real") == 4
    teaches = list(csv.DictReader(open(root / "eval" / "train_synthetic_test_real.csv")))
    assert [r["class_name"] for r in teaches] == CLASSES and all(
        0 <= float(r["real_trained_auc"]) <= 1 for r in teaches
    )
    rows = list(csv.DictReader(open(root / "eval" / "per_image.csv")))
    synthetic = [r for r in rows if r["set"] == "synthetic" and r["pairing"] == "nearest"]
    assert len(synthetic) == 24 and len([r for r in rows if r["pairing"] == "random"]) == 24
    for r in rows:  # MSE in 8-bit units and PSNR agree
        assert float(r["psnr"]) == pytest.approx(10 * np.log10(255**2 / float(r["mse_8bit"])), rel=1e-6)
    noise = [r for r in rows if r["set"] == "noise"]
    floor = [r for r in rows if r["set"] == "floor"]
    for metric in ("ssim", "fsim"):  # the ceiling is worse than the floor
        assert np.mean([float(r[metric]) for r in noise]) < np.mean([float(r[metric]) for r in floor])
    assert np.mean([float(r["niqe"]) for r in noise]) > np.mean([float(r["niqe"]) for r in floor])
    sets = list(csv.DictReader(open(root / "eval" / "set_level.csv")))
    assert {r["set"] for r in sets} == {
        "synthetic (size of floor)",
        "synthetic (all)",
        "real vs real (floor)",
        "noise (ceiling)",
    }
    assert len(sets) == 4 * 5


def test_downstream_rows_per_task_repeat_fold_and_arm(tiny_setup):
    root, generator, rois = tiny_setup
    train = rois.train
    held = rois.held_out
    normal_train = rois.normal_train
    normal_held = rois.normal_held_out
    report = run_downstream(
        generator,
        rois,
        root / "down",
        CLASSES,
        k=2,
        steps=3,
        batch_size=8,
        tasks=TASKS,
        repeats=2,
        synthetic_shares=(0.5,),
        rare_classes=CLASSES[:2],  # the primary classes by default
    )
    # no in-filling without a context generator, no counterpart without a tissue in-filler
    arms = expand_arms([a for a in ARMS if a not in ("inserted", *COUNTERPART_ARMS)], (0.5,))
    assert "synthetic_share_0.5" in arms and "synthetic_share" not in arms
    rows = list(csv.DictReader(open(root / "down" / "downstream_folds.csv")))
    assert [(r["task"], int(r["repeat"]), int(r["fold"]), r["arm"], r["generator"]) for r in rows] == [
        (t, rep, f, a, "0") for rep in range(2) for f in range(2) for t in TASKS for a in arms
    ]
    for task, tested in (("lesion_type", len(held)), ("abnormal_vs_normal", len(held) + len(normal_held))):
        for rep in range(2):  # every held-out ROI tested once per repeat
            assert (
                sum(int(r["test_rois"]) for r in rows if (r["task"], r["arm"], r["repeat"]) == (task, "real", str(rep)))
                == tested
            )
    for r in rows:  # training: the generator's training ROIs and the other fold, never the test fold
        extra = len(normal_train) + len(normal_held) if r["task"] == "abnormal_vs_normal" else 0
        assert int(r["real_train_rois"]) == len(train) + len(held) + extra - int(r["test_rois"])
        score = r["primary_auc"] if r["task"] == "lesion_type" else r["primary_auc_vs_normal"]
        assert 0 <= float(score) <= 1
        per_class = [float(r[f"auc_{c}" if r["task"] == "lesion_type" else f"auc_{c}_vs_normal"]) for c in CLASSES]
        assert float(score) == pytest.approx(np.nanmean(per_class[:2]))  # the primary classes: the rare ones
    text = report.read_text()
    synthetic = [a for a in arms if a not in NON_SYNTHETIC_ARMS]
    for task in TASKS:
        section = text.split(f"## Verdict, {task}: architectural_distortion, asymmetry against")[1].split("###")[0]
        verdicts = re.findall(r"\| (better|no difference seen|worse); ([^|]*with this test set[^|]*) \|", section)
        assert len(verdicts) == len(synthetic)  # each headline row says what its test set could see
        bounds = [float(v) for v in re.findall(r"\[([-+][\d.]+), ([-+][\d.]+)\]", section) for v in v]
        assert bounds and all(-1 <= b <= 1 for b in bounds)  # a difference of scores in [0, 1] lies in [-1, 1]
    judged = list(csv.DictReader(open(root / "down" / "downstream_verdict.csv")))
    for task in TASKS:  # the headline, each class and the all-class mean, each over every synthetic arm
        scores = [r["score"] for r in judged if r["task"] == task]
        assert scores == [s for s in score_names(task, CLASSES) for _ in synthetic]
    again = judge(  # the saved predictions judge again to the same numbers, with nothing trained
        [r for r in read_predictions(root / "down" / "downstream_predictions.csv") if r.task == "abnormal_vs_normal"],
        arms,
        NON_SYNTHETIC_ARMS,
        CLASSES,
        CLASSES[:2],
    )
    saved = [r for r in judged if r["task"] == "abnormal_vs_normal"]
    assert [(r["score"], r["arm"]) for r in again] == [(r["score"], r["arm"]) for r in saved]
    for new, old in zip(again, saved):
        assert f"{new['low']}" == old["low"] and f"{new['difference']}" == old["difference"]
    for r in judged:  # Holm's levels lie between Bonferroni's and the uncorrected 5%
        assert 0.05 / len(synthetic) - 1e-12 <= float(r["level"]) <= 0.05 + 1e-12
        assert float(r["low"]) <= float(r["difference"]) <= float(r["high"])
        # a smallest visible difference of 0 only where the two arms scored alike in every fold and bootstrap draw
        # (3-step toy classifiers can rank a class identically: here copy_paste_seamless and copy_paste)
        assert float(r["mdd"]) > 0 or (r["verdict"] == "same predictions" and float(r["mdd"]) == 0)
    summary = list(csv.DictReader(open(root / "down" / "downstream_summary.csv")))
    assert [(r["task"], r["arm"]) for r in summary] == [(t, a) for t in TASKS for a in arms]
    filtered = [r for r in rows if r["arm"] == "synthetic_filtered"]
    rates = [float(r[f"accepted_{c}"]) for r in filtered for c in CLASSES if r[f"accepted_{c}"] not in ("", "nan")]
    assert filtered and rates and all(0 <= v <= 1 for v in rates)
    assert all(r[f"accepted_{c}"] in ("", "nan") for r in rows if r["arm"] == "synthetic" for c in CLASSES)
    assert "Sample filter (`synthetic_filtered`)" in text and "accepted per class" in text
    with pytest.raises(ValueError, match="noise-to-ROI generator.*needs a context generator"):
        run_downstream(
            generator,
            rois,
            root / "down2",
            CLASSES,
            k=2,
            steps=3,
            arms=["copy_paste", "inserted"],
            tasks=TASKS,
        )
    assert not (root / "down2").exists(), "refused before any classifier is trained"


def test_the_inserted_arm_runs_on_a_context_generator_without_a_bank(tiny_setup):
    """In-filling the fold's own normal ROIs needs no bank, and tops each class up as copy-paste does."""
    from monai_roigan.networks import ContextROIGenerator

    root, _, rois = tiny_setup
    torch.manual_seed(0)
    bankless = ContextROIGenerator(latent_dim=16, num_classes=4, width=1 / 16)
    run_downstream(
        bankless,
        rois,
        root / "down3",
        CLASSES,
        k=2,
        steps=2,
        batch_size=8,
        arms=["copy_paste", "inserted"],
        tasks=("lesion_type",),
    )
    rows = list(csv.DictReader(open(root / "down3" / "downstream_folds.csv")))
    assert [r["arm"] for r in rows] == ["copy_paste", "inserted"] * 2
    assert all(int(r["train_rois"]) == int(rows[0]["train_rois"]) for r in rows if r["fold"] == rows[0]["fold"])


def test_downstream_is_deterministic_for_a_seed(tiny_setup):
    root, generator, rois = tiny_setup
    runs = []
    for name in ("a", "b"):
        run_downstream(
            generator,
            rois,
            root / name,
            CLASSES,
            k=2,
            steps=4,
            batch_size=8,
            arms=["copy_paste", "transplant", "synthetic"],
            tasks=TASKS,
        )
        runs.append((root / name / "downstream_folds.csv").read_text())
    assert runs[0] == runs[1]
    transplant = [line for line in runs[0].splitlines() if ",transplant," in line]
    assert len(transplant) == 2 * len(TASKS), "one row per fold and task (no generator: trained once)"
    run_downstream(
        generator,
        rois,
        root / "c",
        CLASSES,
        k=2,
        steps=4,
        batch_size=8,
        arms=["copy_paste", "transplant", "synthetic"],
        tasks=TASKS,
        seed=1,
    )
    assert (root / "c" / "downstream_folds.csv").read_text() != runs[0]


def test_downstream_refuses_bad_configurations_before_training(tiny_setup):
    root, generator, rois = tiny_setup
    train, held = rois.train, rois.held_out
    plain = EvaluationROIs(train, held)  # no normal-tissue ROIs
    with pytest.raises(ValueError, match="unknown arm"):
        run_downstream(generator, plain, root / "down", CLASSES, arms=["gan"])
    with pytest.raises(ValueError, match="unknown task"):
        run_downstream(generator, plain, root / "down", CLASSES, tasks=["segmentation"])
    with pytest.raises(ValueError, match="need normal-tissue ROIs"):
        run_downstream(generator, plain, root / "down", CLASSES, tasks=["abnormal_vs_normal"], arms=["real"])
    for arm in ("copy_paste", "transplant"):
        with pytest.raises(ValueError, match="need normal-tissue ROIs"):
            run_downstream(generator, plain, root / "down", CLASSES, arms=[arm])
    with pytest.raises(ValueError, match="no ROI of class"):
        run_downstream(
            generator, EvaluationROIs(train, held.subset(held.labels != 1)), root / "down", CLASSES, arms=["real"]
        )
    with pytest.raises(ValueError, match="synthetic_shares must be positive"):
        run_downstream(generator, plain, root / "down", CLASSES, arms=["synthetic_share"], synthetic_shares=(0,))
    one_woman = EvaluationROIs(train, ROISet(held.images, held.labels, np.full(len(held), "w1")), "one woman's ROIs")
    with pytest.raises(ValueError, match=r"the test set \(one woman's ROIs\) holds 1 woman; .* at least 2"):
        run_downstream(generator, one_woman, root / "refused", CLASSES, arms=["real"])
    asymmetry = held.labels == 1
    lone = held.groups.copy()
    lone[asymmetry] = held.groups[asymmetry][0]  # every asymmetry ROI from one woman
    with pytest.raises(ValueError, match=r"holds 1 woman with asymmetry ROIs.*leave asymmetry out of primary_classes"):
        run_downstream(
            generator,
            EvaluationROIs(train, ROISet(held.images, held.labels, lone)),
            root / "refused",
            CLASSES,
            arms=["real"],
            rare_classes=CLASSES[:2],
        )
    with pytest.raises(ValueError, match=r"primary_classes \['cyst'\] must be some of the lesion classes"):
        run_downstream(generator, plain, root / "refused", CLASSES, arms=["real"], primary_classes=["cyst"])
    assert not (root / "refused").exists(), "refused before any classifier is trained"


def test_baseline_tuning_reads_only_training_women_and_writes_the_chosen_settings(tiny_setup):
    root, _, rois = tiny_setup
    grid = [
        {"inner": 0.35, "outer": 0.6},
        {"inner": 0.2, "outer": 0.5, "radius_range": [0.7, 1.3], "intensity_match": 0.5},
    ]
    options = {"k": 2, "batch_size": 8, "steps_grid": (2, 4), "copy_paste_grid": grid, "oversample_powers": (0.5, 1.0)}
    report = tune_baselines(rois, root / "tune", CLASSES, CLASSES[:2], **options)
    rows = list(csv.DictReader(open(root / "tune" / "tuning.csv")))
    assert [(r["stage"], r["fold"]) for r in rows] == [
        (stage, str(f)) for stage in ["steps"] * 2 + ["copy_paste"] * 2 + ["oversample"] * 2 for f in range(2)
    ]
    assert all(0 <= float(r["primary_auc_vs_normal"]) <= 1 for r in rows)
    chosen = json.loads(report.read_text().split("```json\n")[1].split("```")[0])
    assert chosen["steps"] in (2, 4) and chosen["copy_paste_options"] in grid and chosen["oversample_power"] in (0.5, 1)
    nan = ROISet(np.full_like(rois.held_out.images, np.nan), rois.held_out.labels, rois.held_out.groups)
    tune_baselines(rois._replace(held_out=nan, normal_held_out=None), root / "tune2", CLASSES, CLASSES[:2], **options)
    assert (root / "tune2" / "tuning.csv").read_text() == (root / "tune" / "tuning.csv").read_text()  # never read
    with pytest.raises(ValueError, match="normal-tissue training ROIs"):
        tune_baselines(rois._replace(normal_train=None), root / "tune3", CLASSES, CLASSES[:2], **options)


def test_normal_task_scores_known_answers():
    assert sensitivity_at_specificity(np.array([0.95, 0.5, 0.99]), np.linspace(0, 0.9, 11)) == pytest.approx(2 / 3)
    labels = np.array([0, 0, 1, 1, 2, 2, 2, 2])  # two lesion classes and normal tissue (label 2)
    probs = np.zeros((8, 3))
    probs[:, 0] = [0.9, 0.8, 0.1, 0.1, 0.2, 0.1, 0.3, 0.0]  # class 0 separates perfectly from normal
    probs[:, 1] = [0.0, 0.0, 0.2, 0.05, 0.3, 0.1, 0.1, 0.1]  # class 1: 3 of its 8 (ROI, normal) pairs ordered right
    probs[:, 2] = 1 - probs[:, 0] - probs[:, 1]
    out = normal_scores(probs, labels, ["a", "b"])
    assert out["auc_a_vs_normal"] == 1.0 and out["sens90_a"] == 1.0
    assert out["auc_b_vs_normal"] == pytest.approx(3 / 8) and out["sens90_b"] == 0.0  # no ROI above the top normal
    assert out["mean_auc_vs_normal"] == pytest.approx((1.0 + out["auc_b_vs_normal"]) / 2)
    assert 0 <= out["abnormal_auc"] <= 1


def test_oversampling_draws_every_class_equally_often():
    data = [{"image": torch.zeros(1, 16, 16), "label": 0}] * 90 + [{"image": torch.zeros(1, 16, 16), "label": 1}] * 10
    weights = balancing_weights(data)
    assert weights[0] * 90 == pytest.approx(weights[-1] * 10)
    draws = torch.multinomial(weights, 10000, replacement=True, generator=torch.Generator().manual_seed(0))
    assert abs(float((draws >= 90).float().mean()) - 0.5) < 0.03
    root = balancing_weights(data, power=0.5)  # square-root balancing: class shares 90**0.5 : 10**0.5
    assert float(root[-1] * 10 / (root[0] * 90)) == pytest.approx(np.sqrt(10 / 90))
    assert torch.equal(balancing_weights(data, power=0.0), torch.ones(100, dtype=torch.float64))


def test_rare_subsampling_keeps_a_share_of_rare_mammograms_and_says_so(tiny_setup):
    from monai_roigan.evaluation.downstream import _keep_rare_share

    _, _, rois = tiny_setup
    both = ROISet.concat([rois.train, rois.held_out])
    kept = _keep_rare_share(both, [1], 0.5, seed=0)
    rare_before, rare_after = set(both.groups[both.labels == 1]), set(kept.groups[kept.labels == 1])
    assert rare_after < rare_before and len(rare_after) == len(rare_before) - round(0.5 * len(rare_before))
    assert np.array_equal(kept.of_class(2).groups, both.of_class(2).groups)  # other classes untouched


def test_holdout_never_takes_a_class_s_last_mammogram():
    """Mammogram "a" holds both classes; class 0 (rarer) is dealt first. Holding out class 1's share must not take
    class 0's last kept mammogram."""
    groups = np.array(["a", "b", "a", "c", "d", "e", "f"])
    labels = np.array([0, 0, 1, 1, 1, 1, 1])
    for seed in range(20):
        held = holdout_groups(groups, labels, 0.5, seed)
        assert {"a", "b"} - held and {"a", "c", "d", "e", "f"} - held


def test_evaluation_refuses_the_training_phantom_as_held_out(tmp_path):
    with pytest.raises(ConfigurationError, match="heldout_seed 3 equals"):
        evaluation_rois(tmp_path, seed=3, heldout_seed=3, num_phantom_images=4)


def test_matched_subset_copies_the_class_mix():
    from monai_roigan.evaluation import matched_subset

    candidate = ROISet(np.zeros((40, 1, 4, 4), np.float32), np.repeat([0, 1, 2, 3], 10), np.array(["s"] * 40))
    like = ROISet(np.zeros((7, 1, 4, 4), np.float32), np.array([0, 0, 0, 1, 3, 3, 3]), np.array(["r"] * 7))
    matched = matched_subset(candidate, like, np.random.default_rng(0))
    assert np.bincount(matched.labels, minlength=4).tolist() == [3, 1, 0, 3]


@pytest.fixture(scope="module")
def external_datalist(tmp_path_factory):
    """An external test set: another phantom (seed 5) as a datalist whose women are named ext-..."""
    root = tmp_path_factory.mktemp("external")
    folder = make_phantom_dataset(root / "phantom", num_images=12, seed=5)
    entries = [{**e, "patient_id": "ext-" + e["patient_id"]} for e in mias_datalist(folder)]
    path = root / "external.json"
    path.write_text(json.dumps(entries))
    return path, entries


def test_external_test_set_is_disjoint_and_scored_whole(phantom_dir, tmp_path, external_datalist):
    path, entries = external_datalist
    rois = evaluation_rois(tmp_path / "cache", phantom_dir, test_datalist=path, normal_per_image=2)
    assert rois.external and "external test set" in rois.source
    assert all(g.startswith("ext-") for g in rois.held_out.groups) and not any(
        g.startswith("ext-") for g in rois.train.groups
    )
    assert len(rois.normal_held_out) and len(rois.normal_train)
    generator = ROIGenerator(latent_dim=16, num_classes=4, width=1 / 64).eval()
    run_downstream(
        generator,
        rois,
        tmp_path / "down",
        CLASSES,
        k=2,
        steps=3,
        batch_size=8,
        arms=["real", "copy_paste", "synthetic"],
        tasks=TASKS,
        rare_classes=CLASSES[:2],
    )
    rows = list(csv.DictReader(open(tmp_path / "down" / "downstream_folds.csv")))
    checks = [r for r in csv.DictReader(open(tmp_path / "down" / "downstream_verdict.csv")) if r["method"] == "delong"]
    assert (
        [(r["task"], r["score"]) for r in checks]
        == [  # DeLong on the external set: headline and each class
            ("abnormal_vs_normal", s) for s in score_names("abnormal_vs_normal", CLASSES)[:-1]
        ]
    )
    assert all(float(r["low"]) <= float(r["difference"]) <= float(r["high"]) for r in checks)
    assert "DeLong's paired test on the external set" in (tmp_path / "down" / "downstream.md").read_text()
    whole = {"lesion_type": len(rois.held_out), "abnormal_vs_normal": len(rois.held_out) + len(rois.normal_held_out)}
    assert rows and all(int(r["test_rois"]) == whole[r["task"]] for r in rows)  # every classifier: the whole set
    for task in TASKS:  # the folds split the training folder only: each training ROI is left out once
        pool = len(rois.train) + (len(rois.normal_train) if task == "abnormal_vs_normal" else 0)
        assert sum(pool - int(r["real_train_rois"]) for r in rows if (r["task"], r["arm"]) == (task, "real")) == pool
    for r in rows:  # Nadeau and Bengio's n_test is the fold left out of training, not the external test set
        assert int(r["left_out_rois"]) + int(r["real_train_rois"]) == len(rois.train) + (
            len(rois.normal_train) if r["task"] == "abnormal_vs_normal" else 0
        )


def test_external_test_set_errors(phantom_dir, tmp_path, external_datalist):
    path, entries = external_datalist
    with pytest.raises(ConfigurationError, match=r"overlaps the training data: [1-9]\d* image file"):
        evaluation_rois(tmp_path / "a", phantom_dir, test_dataset_dir=phantom_dir)
    same_women = tmp_path / "same_women.json"
    same_women.write_text(json.dumps([{**e, "patient_id": e["patient_id"][4:]} for e in entries]))
    with pytest.raises(ConfigurationError, match="0 image file.*patient"):
        evaluation_rois(tmp_path / "b", phantom_dir, test_datalist=same_women)
    no_asymmetry = tmp_path / "no_asymmetry.json"
    no_asymmetry.write_text(json.dumps([e for e in entries if e["class_name"] != "asymmetry"]))
    with pytest.raises(ConfigurationError, match="has no ROI of class.*asymmetry"):
        evaluation_rois(tmp_path / "c", phantom_dir, test_datalist=no_asymmetry)


def test_train_on_synthetic_test_on_real_separates_teaching_from_misleading_generators():
    """Synthetic ROIs whose classes differ in brightness as the real ones do teach every class (AUC near 1); a
    generator that draws the classes with the looks in reverse order teaches the wrong thing (mean AUC below 0.5)."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 12)

    def rois(order):
        levels = np.linspace(-0.6, 0.6, 4)[np.asarray(order)[labels]]
        images = levels[:, None, None, None] + 0.05 * rng.standard_normal((48, 1, 64, 64))
        return ROISet(images.astype(np.float32), labels, labels.astype(str))

    real = rois([0, 1, 2, 3])
    judge = train_roi_classifier(roi_items(torch.as_tensor(real.images), labels), 4, epochs=20, seed=0)
    teaching = synthetic_teaches(rois([0, 1, 2, 3]), real, judge, 4, epochs=20, seed=0)
    assert all(row["synthetic_trained_auc"] > 0.9 and row["real_trained_auc"] > 0.9 for row in teaching)
    misleading = synthetic_teaches(rois([3, 2, 1, 0]), real, judge, 4, epochs=20, seed=0)
    assert np.mean([row["synthetic_trained_auc"] for row in misleading]) < 0.5  # worse than chance on average
    assert [row["real_trained_auc"] for row in misleading] == [row["real_trained_auc"] for row in teaching]


@pytest.mark.parametrize("run", [evaluate_generator, run_downstream])
def test_a_single_roi_set_in_place_of_the_evaluation_rois_is_refused_naming_the_signature(tiny_setup, tmp_path, run):
    """The pre-0.9.0 call passed the training set where the whole EvaluationROIs now goes."""
    _, generator, rois = tiny_setup
    with pytest.raises(TypeError, match=rf"{run.__name__}\(generator, rois, .*EvaluationROIs.*got ROISet"):
        run(generator, rois.train, tmp_path, ["a", "b", "c", "d"])
    assert as_evaluation_rois((rois.train, rois.held_out), "x") == EvaluationROIs(rois.train, rois.held_out)


def test_the_counterpart_arms_give_the_classifier_the_roi_and_its_residual(tiny_setup):
    """Trained and tested on [ROI, residual]; judged against the baselines; refused without a tissue in-filler."""
    root, generator, rois = tiny_setup
    torch.manual_seed(0)
    infiller = ContextROIGenerator(num_classes=4, width=PRESETS["tiny"]).eval()
    arms = ["classic", "copy_paste", "counterpart", "copy_paste_counterpart"]
    options = {"k": 2, "steps": 3, "batch_size": 8, "rare_classes": CLASSES[:2]}
    run_downstream(
        generator, rois, root / "cp", CLASSES, arms=arms, counterpart_model=infiller, counterpart_women=[], **options
    )
    rows = list(csv.DictReader(open(root / "cp" / "downstream_folds.csv")))
    assert [r["arm"] for r in rows] == arms * 2 and all(0 <= float(r["primary_auc"]) <= 1 for r in rows)
    verdict = {r["arm"] for r in csv.DictReader(open(root / "cp" / "downstream_verdict.csv"))}
    assert verdict == {"counterpart", "copy_paste_counterpart"}  # the candidates, judged against the baselines
    counterpart = NormalCounterpart(infiller)
    data = ArmData(rois.train, rois.normal_train, None, CLASSES, False, counterpart=counterpart)
    item = arm_dataset("counterpart", data)[0]
    assert item["image"].shape == (2, 64, 64)
    residual = item["image"][1][counterpart.mask_region() == 0]
    assert float(residual.abs().max()) == 0  # the residual of the augmented ROI: 0 outside the in-filled disc
    inputs = arm_inputs("counterpart", data, rois.held_out.images)
    assert inputs.shape == (len(rois.held_out), 2, 64, 64)
    np.testing.assert_array_equal(inputs[:, :1], rois.held_out.images)
    trained = NormalCounterpartd("image", counterpart)({"image": torch.as_tensor(rois.held_out.images[0])})["image"]
    np.testing.assert_allclose(inputs[0, 1], trained[1].numpy(), atol=1e-6)  # test input = training transform's
    with pytest.raises(ValueError, match=r"\['counterpart'\] need counterpart_model"):
        run_downstream(generator, rois, root / "cp2", CLASSES, arms=["classic", "counterpart"], **options)
    with pytest.raises(ValueError, match="context"):
        run_downstream(
            generator,
            rois,
            root / "cp2",
            CLASSES,
            arms=["counterpart"],
            counterpart_model=generator,
            counterpart_women=[],
        )


def test_the_counterpart_arms_leave_out_the_in_fillers_women_and_refuse_one_that_saw_a_held_out_woman(
    tiny_setup, tmp_path
):
    """The in-filler's own women would leave smaller residuals than any test woman: their normal ROIs are left out."""
    _, generator, rois = tiny_setup
    torch.manual_seed(0)
    infiller = ContextROIGenerator(num_classes=4, width=PRESETS["tiny"]).eval()
    model = tmp_path / "counterpart.pt"
    woman = str(rois.normal_train.groups[0])
    women_record_path(model).write_text(json.dumps({"women": [woman]}))
    torch.save(infiller.state_dict(), model)  # after its record, as a finished training leaves them
    options = {"k": 2, "steps": 2, "batch_size": 8, "rare_classes": CLASSES[:2]}
    out = tmp_path / "out"
    run = partial(run_downstream, generator, rois, out, CLASSES, arms=["classic", "counterpart"], **options)
    run(counterpart_model=str(model), tasks=["lesion_type", "abnormal_vs_normal"])  # the record names the women
    rows = list(csv.DictReader(open(out / "downstream_folds.csv")))
    sizes = {(r["task"], r["fold"], r["arm"]): int(r["real_train_rois"]) for r in rows}
    left = int(np.sum(rois.normal_train.groups.astype(str) == woman))
    for fold in ("0", "1"):  # her normal ROIs are left out; every lesion ROI stays
        assert sizes["abnormal_vs_normal", fold, "counterpart"] == sizes["abnormal_vs_normal", fold, "classic"] - left
        assert sizes["lesion_type", fold, "counterpart"] == sizes["lesion_type", fold, "classic"]
    assert left and f"learned from 1 women; their {left} normal-tissue" in (out / "downstream.md").read_text()
    held = str(rois.normal_held_out.groups[0])
    message = f"counterpart_women says the tissue in-filler learned from held-out women ['{held}']"
    with pytest.raises(ValueError, match=re.escape(message)):
        run(counterpart_model=str(model), counterpart_women=[held])
    with pytest.raises(ValueError, match="counterpart_women must be a list of women, got the string"):
        run(counterpart_model=str(model), counterpart_women=woman)
    with pytest.raises(ValueError, match="an in-filler module needs counterpart_women"):
        run(counterpart_model=infiller)
    women_record_path(model).unlink()
    with pytest.raises(ValueError, match=r"counterpart\.women\.json: no record of the women"):
        run(counterpart_model=str(model))
