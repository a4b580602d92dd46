"""Seamless insertion: random soft masks, the four blend modes, and their use in CopyPasteLesion,
InsertSyntheticLesion(d) and the context trainer (random masks; the discriminator sees the whole ROI)."""

import numpy as np
import pytest
import torch
from monai.data import DataLoader

from monai_roigan.engines import ContextGanTrainer, GanLosses, GeneratorInput
from monai_roigan.networks import ContextROIGenerator, ROIDiscriminator
from monai_roigan.networks.sampling import latent_for
from monai_roigan.transforms import (
    BLEND_MODES,
    SEAMLESS_BLEND_MODES,
    CopyPasteLesion,
    InsertSyntheticLesion,
    InsertSyntheticLesiond,
    random_soft_mask,
)
from monai_roigan.transforms.blending import blend, check_blend_modes

S = 64


def textured(level: float, seed: int, amplitude: float = 0.1) -> torch.Tensor:
    return level + amplitude * torch.randn(1, S, S, generator=torch.Generator().manual_seed(seed))


def test_random_soft_masks_are_seeded_blobs_of_varied_size_with_a_soft_edge_inside_the_roi():
    masks = [random_soft_mask(S, np.random.RandomState(seed)) for seed in range(20)]
    for mask in masks:
        assert mask.shape == (S, S) and mask.dtype == torch.float32
        assert float(mask.min()) == 0 and float(mask.max()) == 1
        assert ((mask > 0) & (mask < 1)).any(), "a soft edge"
        border = torch.cat([mask[0], mask[-1], mask[:, 0], mask[:, -1]])
        assert not border.any(), "the blob stays inside the ROI"
    areas = [int((m > 0).sum()) for m in masks]
    assert max(areas) > 2 * min(areas), areas
    assert len({int(m.argmax()) for m in masks}) > 1, "the blob's centre moves"
    assert np.median([_outline_spread(m) for m in masks]) > 0.08, "outlines that are not discs"
    assert _outline_spread(torch.from_numpy(np.hypot(*np.mgrid[:S, :S] - 31.5) < 12).float()) < 0.05
    assert torch.equal(masks[3], random_soft_mask(S, np.random.RandomState(3)))
    small = [random_soft_mask(16, np.random.RandomState(seed)) for seed in range(50)]
    assert all(float(m.max()) == 1 and not torch.cat([m[0], m[-1], m[:, 0], m[:, -1]]).any() for m in small)
    with pytest.raises(ValueError, match="at least 16 pixels"):
        random_soft_mask(8, np.random.RandomState(0))
    with pytest.raises(ValueError, match="radius_range"):
        random_soft_mask(S, np.random.RandomState(0), radius_range=(0.6, 0.3))
    with pytest.raises(ValueError, match="irregularity and shift"):
        random_soft_mask(S, np.random.RandomState(0), irregularity=0.9)


def _outline_spread(mask: torch.Tensor) -> float:
    """Coefficient of variation of the distances from the centroid of ``mask >= 0.5`` to its outline pixels (a disc:
    about 0.02)."""
    inside = mask.numpy() >= 0.5
    padded = np.pad(inside, 1)
    core = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    ys, xs = np.nonzero(inside & ~core)
    cy, cx = np.argwhere(inside).mean(0)
    distances = np.hypot(ys - cy, xs - cx)
    return float(distances.std() / distances.mean())


def test_the_four_blend_modes_keep_the_tissue_outside_and_do_what_they_say():
    tissue, lesion = textured(-0.4, 0), textured(0.5, 1)
    mask = random_soft_mask(S, np.random.RandomState(2))
    outside = mask == 0
    for mode in BLEND_MODES:
        out = blend(tissue, lesion, mask, mode, background=torch.tensor(0.5))
        assert out.shape == (1, S, S) and torch.equal(out[:, outside], tissue[:, outside]), mode
    hard = blend(tissue, lesion, mask, "hard")
    assert torch.equal(hard[:, mask >= 0.5], lesion[:, mask >= 0.5]) and torch.equal(
        hard[:, mask < 0.5], tissue[:, mask < 0.5]
    )
    torch.testing.assert_close(blend(tissue, lesion, mask, "feathered"), mask * lesion + (1 - mask) * tissue)
    additive = blend(tissue, lesion, mask, "additive", background=torch.tensor(0.5))
    core = mask == 1
    torch.testing.assert_close(additive[:, core] - tissue[:, core], lesion[:, core] - 0.5)  # tissue texture kept
    border = torch.zeros(S, S)
    border[:20, :20] = 1.0  # a mask that touches the ROI's border: the offset spreads from the other sides
    poisson = blend(tissue, tissue + 0.5, border, "poisson")
    torch.testing.assert_close(poisson, tissue, rtol=0, atol=1e-4)
    torch.testing.assert_close(blend(tissue, lesion, mask[None], "feathered"), blend(tissue, lesion, mask, "feathered"))
    with pytest.raises(ValueError, match="must be"):
        blend(tissue, lesion, mask[:32], "hard")
    with pytest.raises(ValueError, match="needs the lesion's background"):
        blend(tissue, lesion, mask, "additive")
    with pytest.raises(ValueError, match="unknown blend mode 'soft'"):
        blend(tissue, lesion, mask, "soft")
    with pytest.raises(ValueError, match="non-empty list of"):
        check_blend_modes(["hard", "glue"])


def test_a_poisson_blend_removes_the_lesions_offset_to_the_tissue_and_keeps_its_texture():
    """Lesion = flat tissue level + 0.9 + a bump at the centre: the gradient-domain blend keeps the bump on the
    tissue's own level (no step at the edge), where a hard paste leaves the 0.9 step."""
    tissue = torch.full((1, S, S), -0.3)
    yy, xx = np.mgrid[:S, :S] - (S - 1) / 2
    bump = torch.from_numpy(0.3 * np.exp(-(yy**2 + xx**2) / (2 * 3.0**2))[None].astype(np.float32))
    lesion = tissue + 0.9 + bump
    mask = random_soft_mask(S, np.random.RandomState(5), shift=0.0)
    inside = mask > 0
    poisson = blend(tissue, lesion, mask, "poisson")
    torch.testing.assert_close(poisson[:, inside], (tissue + bump)[:, inside], rtol=0, atol=5e-3)
    hard = blend(tissue, lesion, mask, "hard")
    assert float((hard - tissue)[:, mask == 1].mean()) > 0.85


def test_copy_paste_draws_the_mask_and_the_blend_mode_per_paste_and_is_seeded():
    lesions = [textured(0.5, k) for k in range(3)]
    paste = CopyPasteLesion(lesions, mask_shape="random", blend_modes=BLEND_MODES).set_random_state(0)
    outs, masks = [], []
    for k in range(24):
        outs.append(paste(textured(-0.4, 10 + k)))
        masks.append(paste.mask.clone())
        assert torch.equal(outs[-1][:, paste.mask == 0], textured(-0.4, 10 + k)[:, paste.mask == 0])
    assert {o.meta["pasted_blend"] for o in outs} == set(BLEND_MODES)
    assert len({int((m > 0).sum()) for m in masks}) > 10, "a new mask per paste"
    again = CopyPasteLesion(lesions, mask_shape="random", blend_modes=BLEND_MODES).set_random_state(0)
    assert all(torch.equal(o, again(textured(-0.4, 10 + k))) for k, o in enumerate(outs))
    default = CopyPasteLesion(lesions).set_random_state(0)(textured(-0.4, 3))
    assert default.meta["pasted_blend"] == "feathered"
    with pytest.raises(ValueError, match="mask_shape must be one of"):
        CopyPasteLesion(lesions, mask_shape="square")
    with pytest.raises(ValueError, match="non-empty list of"):
        CopyPasteLesion(lesions, blend_modes=[])


def context_generator(seed: int = 0) -> ContextROIGenerator:
    torch.manual_seed(seed)
    return ContextROIGenerator(num_classes=4, width=0.0625).eval()


def test_insertion_draws_a_random_mask_and_mode_and_keeps_the_tissue_outside_it():
    g = context_generator()
    insert = InsertSyntheticLesion(g, mask_shape="random", blend_modes=BLEND_MODES).set_random_state(1)
    tissue = textured(-0.2, 4).clamp(-1, 1)
    drawn = [insert.randomize_blend() for _ in range(12)]
    assert {mode for _, mode in drawn} == set(BLEND_MODES)
    assert len({int((mask > 0).sum()) for mask, _ in drawn}) > 6, "a new mask per insertion"
    for mask, mode in drawn[:4]:
        out = insert.insert(tissue, 1, seed=3, mask=mask, mode=mode).as_tensor()
        assert torch.equal(out[:, mask[0] == 0], tissue[:, mask[0] == 0]), mode
        assert (out[:, mask[0] > 0] != tissue[:, mask[0] > 0]).any(), mode
    first = [insert.set_random_state(5)(tissue).as_tensor() for _ in range(1)] + [insert(tissue).as_tensor()]
    again = [insert.set_random_state(5)(tissue).as_tensor()] + [insert(tissue).as_tensor()]
    assert all(torch.equal(a, b) for a, b in zip(first, again)), "same seed, same insertions"
    assert not torch.equal(first[0], first[1])


def test_every_mode_keeps_integer_rois_integer_and_the_default_is_the_generators_own_blend():
    g = context_generator()
    levels = ((textured(-0.2, 4).clamp(-1, 1) + 1) * 2047.5).round().to(torch.int32)
    insert = InsertSyntheticLesion(g, intensity_range=(0.0, 4095.0))
    outside = g.mask[0] == 0
    for mode in BLEND_MODES:
        out = insert.insert(levels, 1, seed=2, mode=mode).as_tensor()
        assert out.dtype == torch.int32 and torch.equal(out[outside], levels[outside]), mode
        assert 0 <= int(out.min()) and int(out.max()) <= 4095, mode
    tissue, default = textured(-0.2, 4).clamp(-1, 1), InsertSyntheticLesion(g)
    z = latent_for(2, 1, 0, g.latent_dim)
    with torch.no_grad():  # the 0.11.0 computation: the generator's blended output, mapped back to the pipeline
        own = g(z[None], torch.tensor([1]), default._context(tissue)).clamp(-1, 1)[0]
    expected = torch.where(g.mask[0] > 0, -1 + (own + 1) * 0.5 * 2, tissue)
    assert torch.equal(default.insert(tissue, 1, seed=2).as_tensor(), expected), "bit for bit as before"


def test_an_additive_insertion_adds_the_lesion_in_fill_minus_the_normal_in_fill_to_the_tissue():
    g = context_generator()
    insert = InsertSyntheticLesion(g, blend_modes=["additive"])
    tissue = textured(-0.2, 4).clamp(-1, 1)
    out = insert.insert(tissue, 2, seed=9).as_tensor()
    z = latent_for(9, 2, 0, g.latent_dim)  # the latent of the insertion
    context = insert._context(tissue)
    lesion, normal = insert._in_fill(g, z, 2, context, None)[1], insert._in_fill(g, z, 4, context, None)[1]
    expected = (tissue + g.mask[0] * (lesion - normal)).clamp(-1, 1)
    torch.testing.assert_close(out, expected)
    feathered = insert.insert(tissue, 2, seed=9, mode="feathered").as_tensor()
    torch.testing.assert_close(feathered, g.mask[0] * lesion + (1 - g.mask[0]) * tissue)


def test_the_dictionary_insertion_with_random_masks_is_seeded():
    g = context_generator()
    data = [{"image": textured(-0.2, k).clamp(-1, 1), "label": 4} for k in range(4)]

    def run(seed):
        t = InsertSyntheticLesiond("image", g, prob=1.0, mask_shape="random", blend_modes=BLEND_MODES)
        t.set_random_state(seed)
        return [t(d)["image"].as_tensor() for d in data]

    first, again, other = run(0), run(0), run(1)
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not all(torch.equal(a, b) for a, b in zip(first, other))
    with pytest.raises(ValueError, match="mask_key 'mask' gives the mask; mask_shape 'random' would be ignored"):
        InsertSyntheticLesiond("image", g, mask_key="mask", mask_shape="random")


def test_the_context_trainer_draws_a_random_mask_per_fake_and_the_discriminator_sees_the_whole_roi():
    data = [
        {"image": torch.rand(1, 32, 32, generator=torch.Generator().manual_seed(k)) * 2 - 1, "label": k % 3}
        for k in range(8)
    ]
    torch.manual_seed(0)
    g = ContextROIGenerator(latent_dim=8, num_classes=2, width=0.0625, output_size=32)
    d = ROIDiscriminator(num_classes=3, width=0.0625, input_size=32, aux_classifier=True)
    seen = {}

    def record_mask(_module, args, kwargs, _output):
        seen.setdefault("masks", []).append(kwargs["mask"].detach().clone())
        seen.setdefault("contexts", []).append(kwargs["context"].detach().clone())

    def record_input(_module, args, _output):
        seen.setdefault("d_inputs", []).append(args[0].detach().clone())

    g.register_forward_hook(record_mask, with_kwargs=True)
    d.register_forward_hook(record_input)
    ContextGanTrainer(
        "cpu",
        1,
        DataLoader(data, batch_size=8, shuffle=False),
        g,
        torch.optim.Adam(g.parameters()),
        d,
        torch.optim.Adam(d.parameters()),
        losses=GanLosses(aux_weight=1.0),
        generator_input=GeneratorInput(latent_dim=8),
        num_lesion_classes=2,
        seed=0,
        mask_shape="random",
    ).run()
    mask, context, fakes = seen["masks"][0], seen["contexts"][0], seen["d_inputs"][1]  # D: reals, then fakes
    assert mask.shape == (8, 1, 32, 32) and len({int((m > 0).sum()) for m in mask}) > 4, "a mask per fake"
    assert fakes.shape == (8, 1, 32, 32), "the discriminator sees the whole ROI"
    keep = mask == 0
    assert torch.equal(fakes[keep], context[keep]), "...with the real context around the in-filled region"
    with pytest.raises(ValueError, match="mask_shape must be one of"):
        ContextGanTrainer(
            "cpu",
            1,
            DataLoader(data, batch_size=8),
            g,
            torch.optim.Adam(g.parameters()),
            d,
            torch.optim.Adam(d.parameters()),
            generator_input=GeneratorInput(latent_dim=8),
            num_lesion_classes=2,
            mask_shape="star",
        )


def test_the_seamless_arm_tops_up_with_the_tuned_options_a_random_mask_and_a_soft_mode_per_paste():
    from monai_roigan.evaluation.arms import GENERATOR_FREE_ARMS, ArmData, arm_dataset
    from monai_roigan.evaluation.data import ROISet

    rng = np.random.default_rng(0)
    lesions = ROISet(
        rng.uniform(-1, 1, (9, 1, S, S)).astype(np.float32), np.array([0, 1, 3, 3, 3, 3, 3, 3, 3]), np.arange(9)
    )
    normals = ROISet(rng.uniform(-1, 1, (5, 1, S, S)).astype(np.float32), np.full(5, 4), np.arange(5).astype(str))
    names = ["architectural_distortion", "asymmetry", "calcification", "mass"]
    data = ArmData(lesions, normals, None, names, with_normal=False, copy_paste_options={"intensity_match": 0.0})
    dataset = arm_dataset("copy_paste_seamless", data)
    added = [dataset[k] for k in range(len(lesions), len(dataset))]
    assert len(added) == 2 * 6, "AD and asymmetry topped up to the largest class (7 masses); no calcification"
    assert sorted({int(a["label"]) for a in added}) == [0, 1]
    assert {a["image"].meta["pasted_blend"] for a in added} == set(SEAMLESS_BLEND_MODES)
    assert "copy_paste_seamless" in GENERATOR_FREE_ARMS
    plain = arm_dataset("copy_paste", data)
    assert {plain[k]["image"].meta["pasted_blend"] for k in range(len(lesions), len(plain))} == {"feathered"}


def test_the_context_trainers_reconstruction_is_the_mean_over_each_fakes_own_mask():
    trainer = ContextGanTrainer.__new__(ContextGanTrainer)
    trainer.reconstruction_weight, trainer.outside_weight = 1.0, 1.0
    real = torch.zeros(2, 1, 8, 8)
    mask = torch.zeros(2, 1, 8, 8)
    mask[0, :, :2, :2] = 1.0  # 4 pixels
    mask[1, :, :4, :4] = 1.0  # 16 pixels
    raw = torch.full((2, 1, 8, 8), 0.5)
    raw[1] = 0.25
    trainer._last = (mask * raw + (1 - mask) * real, raw, mask)
    labels = torch.tensor([0, 1])
    terms = trainer._generator_penalty(real, labels, labels)
    assert float(terms["reconstruction"]) == pytest.approx((4 * 0.5 + 16 * 0.25) / 20)
    outside = ((raw - real).abs() * (1 - mask)).mean() / (1 - mask).mean()
    assert float(terms["outside"]) == pytest.approx(float(outside))
