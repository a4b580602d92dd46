import numpy as np
import pytest
import tifffile
import torch
from monai.data import DataLoader, Dataset, MetaTensor
from monai.transforms import Compose, LoadImage
from PIL import Image

from monai_roigan.data.image_reader import MammogramReader, sniff_format
from monai_roigan.transforms import LoadMammogram, LoadMammogramd
from monai_roigan.utils.errors import MammogramReadError


@pytest.fixture
def gradient16():
    return (np.arange(40 * 30, dtype=np.uint32).reshape(40, 30) * 50).astype(np.uint16)


def test_png_8_and_16_bit(tmp_path, gradient16):
    Image.fromarray((gradient16 >> 8).astype(np.uint8)).save(tmp_path / "a8.png")
    Image.fromarray(gradient16).save(tmp_path / "a16.png")
    img8 = LoadMammogram()(tmp_path / "a8.png")
    img16 = LoadMammogram()(tmp_path / "a16.png")
    assert tuple(img16.shape) == (1, 40, 30)  # (1, H, W): row-major, not MONAI's (W, H)
    assert img8.meta["bits_stored"] == 8 and img16.meta["bits_stored"] == 16
    np.testing.assert_allclose(img16[0].numpy(), gradient16 / 65535.0, atol=1e-6)
    np.testing.assert_allclose(img8[0].numpy(), (gradient16 >> 8) / 255.0, atol=1e-6)


def test_tiff_16_bit(tmp_path, gradient16):
    tifffile.imwrite(tmp_path / "a.tif", gradient16)
    img = LoadMammogram()(tmp_path / "a.tif")
    assert img.meta["format"] == "TIFF"
    np.testing.assert_allclose(img[0].numpy(), gradient16 / 65535.0, atol=1e-6)


def test_colour_png_rejected_grey_rgb_accepted(tmp_path):
    rgb = np.zeros((8, 8, 3), dtype=np.uint8)
    rgb[..., 0] = 200
    Image.fromarray(rgb).save(tmp_path / "colour.png")
    with pytest.raises(MammogramReadError, match="colour"):
        LoadMammogram()(tmp_path / "colour.png")
    Image.fromarray(np.repeat(rgb[..., :1], 3, axis=2)).save(tmp_path / "grey.png")
    assert float(LoadMammogram()(tmp_path / "grey.png").max()) == pytest.approx(200 / 255)


def test_pgm_meta_and_affine(mias_dir):
    img = LoadMammogram()(mias_dir / "mdb001.pgm")
    assert isinstance(img, MetaTensor) and img.dtype == torch.float32 and tuple(img.shape) == (1, 1024, 1024)
    assert 0.0 <= float(img.min()) and float(img.max()) <= 1.0
    assert img.meta["spacing"] == (0.2, 0.2) and img.meta["format"] == "PGM" and img.meta["bits_stored"] == 8
    assert img.meta["source_path"].endswith("mdb001.pgm")
    np.testing.assert_allclose(img.affine[:2, :2].numpy(), np.diag([0.2, 0.2]))


def test_monai_load_image_with_reader(mias_dir):
    img = LoadImage(reader=MammogramReader(), image_only=True, ensure_channel_first=True)(mias_dir / "mdb002.pgm")
    direct = LoadMammogram()(mias_dir / "mdb002.pgm")
    assert torch.equal(img.as_tensor(), direct.as_tensor())


def test_dictionary_loader_in_dataloader(tmp_path, gradient16):
    paths = []
    for k in range(3):
        Image.fromarray(gradient16 + k).save(tmp_path / f"{k}.png")
        paths.append({"image": str(tmp_path / f"{k}.png"), "label": k})
    loader = DataLoader(Dataset(paths, Compose([LoadMammogramd("image")])), batch_size=3, num_workers=0)
    batch = next(iter(loader))
    assert tuple(batch["image"].shape) == (3, 1, 40, 30) and batch["label"].tolist() == [0, 1, 2]
    assert batch["image"].meta["format"] == ["PNG"] * 3


def test_errors_are_not_swallowed(tmp_path):
    (tmp_path / "empty.pgm").write_bytes(b"")
    with pytest.raises(MammogramReadError, match="empty file"):
        LoadMammogram()(tmp_path / "empty.pgm")
    (tmp_path / "junk.dcm").write_bytes(b"hello world" * 20)
    with pytest.raises(MammogramReadError, match="unknown image format") as info:
        LoadMammogram()(tmp_path / "junk.dcm")
    assert "junk.dcm" in str(info.value)
    with pytest.raises(FileNotFoundError, match="nothere.pgm"):
        LoadMammogram()(tmp_path / "nothere.pgm")


def test_sniff_format_by_content_not_name(tmp_path, dicom_factory):
    path = dicom_factory(np.zeros((4, 4), dtype=np.uint16))
    renamed = path.with_name("IM0001")  # hospital exports often have no suffix
    path.rename(renamed)
    assert sniff_format(renamed) == "DICOM"
    assert tuple(LoadMammogram()(renamed).shape) == (1, 4, 4)
