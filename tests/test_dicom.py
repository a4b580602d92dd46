import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import RLELossless

from monai_roigan.data import dicom as dicom_module
from monai_roigan.data.dicom import read_dicom_mammogram
from monai_roigan.transforms import LoadMammogram
from monai_roigan.utils.errors import MammogramReadError, UnsupportedTransferSyntaxError

RAMP = np.arange(0, 4096, 16, dtype=np.uint16).reshape(16, 16)  # 12-bit values


def test_bits_stored_masks_garbage_high_bits(dicom_factory):
    dirty = RAMP | np.uint16(0xF000)  # overlay bits above HighBit must not leak into the image
    image, meta = read_dicom_mammogram(dicom_factory(dirty, BitsStored=12))
    np.testing.assert_allclose(image, RAMP / 4095.0, atol=1e-6)
    assert meta["bits_stored"] == 12


def test_monochrome1_is_inverted(dicom_factory):
    mono2, _ = read_dicom_mammogram(dicom_factory(RAMP, BitsStored=12))
    mono1, meta = read_dicom_mammogram(dicom_factory(RAMP, BitsStored=12, PhotometricInterpretation="MONOCHROME1"))
    np.testing.assert_allclose(mono1, 1.0 - mono2, atol=1e-6)
    assert "MONOCHROME1 inverted" in meta["intensity_rule"]


def test_rescale_uses_representable_range_not_image_minmax(dicom_factory):
    pixels = np.full((4, 4), 1000, dtype=np.uint16)
    image, meta = read_dicom_mammogram(dicom_factory(pixels, BitsStored=12, RescaleSlope=2, RescaleIntercept=-100))
    # value 1000*2-100 in the modality range [0*2-100, 4095*2-100]; a flat image is not stretched to 0 or 1
    np.testing.assert_allclose(image, (1900 - (-100)) / (8090 - (-100)), atol=1e-6)
    assert "[-100, 8090]" in meta["intensity_rule"]


def test_signed_pixels_are_sign_extended(dicom_factory):
    pixels = np.array([[-2048, -1], [0, 2047]], dtype=np.int16)
    image, _ = read_dicom_mammogram(dicom_factory(pixels, BitsStored=12))
    np.testing.assert_allclose(image, (pixels + 2048) / 4095.0, atol=1e-6)


def test_window_from_file_and_explicit(dicom_factory):
    path = dicom_factory(RAMP, BitsStored=12, WindowCenter=2048, WindowWidth=1024)
    full, _ = read_dicom_mammogram(path)
    windowed, meta = read_dicom_mammogram(path, voi="auto")
    assert windowed.min() == 0.0 and windowed.max() == 1.0 and "window center=2048" in meta["intensity_rule"]
    inside = (RAMP > 1600) & (RAMP < 2500)
    expected = np.clip((RAMP - 2047.5) / 1023 + 0.5, 0, 1)
    np.testing.assert_allclose(windowed[inside], expected[inside], atol=1e-6)
    explicit, meta = read_dicom_mammogram(path, window=(1000, 200))
    assert "center=1000" in meta["intensity_rule"] and explicit[RAMP > 1200].min() == 1.0
    assert not np.allclose(full, windowed)


def test_voi_lut_sequence(dicom_factory):
    item = Dataset()
    item.LUTDescriptor = [4096, 0, 12]
    item.add_new("LUTData", "US", [4095 - v for v in range(4096)])  # an inverting 12-bit LUT
    seq = pydicom.Sequence([item])
    image, meta = read_dicom_mammogram(dicom_factory(RAMP, BitsStored=12, VOILUTSequence=seq), voi="lut")
    np.testing.assert_allclose(image, (4095 - RAMP) / 4095.0, atol=1e-6)
    assert meta["intensity_rule"] == "VOI LUT sequence"


def test_voi_requested_but_absent(dicom_factory):
    with pytest.raises(MammogramReadError, match="no WindowCenter"):
        read_dicom_mammogram(dicom_factory(RAMP), voi="window")


def test_laterality_view_spacing_fallbacks(dicom_factory):
    _, meta = read_dicom_mammogram(
        dicom_factory(RAMP, ImageLaterality="R", Laterality="L", ViewPosition="MLO", ImagerPixelSpacing=[0.07, 0.07])
    )
    assert (meta["laterality"], meta["view"], meta["spacing"]) == ("R", "MLO", (0.07, 0.07))
    _, meta = read_dicom_mammogram(dicom_factory(RAMP, Laterality="L", PatientOrientation="CC"))
    assert (meta["laterality"], meta["view"], meta["spacing"]) == ("L", "CC", None)


def test_rle_compressed_round_trip(dicom_factory, tmp_path):
    path = dicom_factory(RAMP, BitsStored=12)
    ds = pydicom.dcmread(path)
    ds.compress(RLELossless)
    ds.save_as(tmp_path / "rle.dcm")
    image, meta = read_dicom_mammogram(tmp_path / "rle.dcm")
    np.testing.assert_allclose(image, RAMP / 4095.0, atol=1e-6)
    assert meta["transfer_syntax"] == RLELossless


def test_jpeg2000_decodes_when_codec_installed(dicom_factory, tmp_path):
    pytest.importorskip("openjpeg", reason="the dicom-codecs extra is not installed")
    pixels = np.tile(RAMP, (4, 4))  # 64x64: openjpeg's default resolution levels need >= 32 pixels
    ds = pydicom.dcmread(dicom_factory(pixels, BitsStored=12))
    ds.compress(pydicom.uid.JPEG2000Lossless, encoding_plugin="pylibjpeg")
    ds.save_as(tmp_path / "j2k.dcm")
    image, _ = read_dicom_mammogram(tmp_path / "j2k.dcm")
    np.testing.assert_allclose(image, pixels / 4095.0, atol=1e-6)


def test_missing_codec_names_syntax_and_extra(dicom_factory, tmp_path, monkeypatch):
    ds = pydicom.dcmread(dicom_factory(RAMP, BitsStored=12))
    ds.compress(RLELossless)
    ds.save_as(tmp_path / "rle.dcm")

    class Unavailable:
        is_available = False

    monkeypatch.setattr(dicom_module, "get_decoder", lambda uid: Unavailable())
    with pytest.raises(UnsupportedTransferSyntaxError, match=r"RLE Lossless.*monai-roigan\[dicom-codecs\]"):
        read_dicom_mammogram(tmp_path / "rle.dcm")


def test_transfer_syntax_without_any_decoder(dicom_factory, tmp_path):
    ds = pydicom.dcmread(dicom_factory(RAMP))
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.100"  # MPEG2: pydicom has no decoder at all
    ds.PixelData = pydicom.encaps.encapsulate([ds.PixelData])
    ds.save_as(tmp_path / "mpeg.dcm", enforce_file_format=False)
    with pytest.raises(UnsupportedTransferSyntaxError, match="MPEG2") as info:
        read_dicom_mammogram(tmp_path / "mpeg.dcm")
    assert "mpeg.dcm" in str(info.value)


def test_no_pixel_data(dicom_factory):
    path = dicom_factory(RAMP)
    ds = pydicom.dcmread(path)
    del ds.PixelData
    ds.save_as(path)
    with pytest.raises(MammogramReadError, match="no pixel data") as info:
        read_dicom_mammogram(path)
    assert str(path) in str(info.value)


def test_not_dicom_and_truncated(tmp_path, dicom_factory):
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00")
    with pytest.raises(MammogramReadError, match="bad.dcm"):
        read_dicom_mammogram(bad)
    path = dicom_factory(RAMP)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 200])
    with pytest.raises(MammogramReadError, match=str(path.name)):
        read_dicom_mammogram(path)


def test_colour_dicom_rejected(dicom_factory):
    with pytest.raises(MammogramReadError, match="not grayscale"):
        read_dicom_mammogram(dicom_factory(RAMP, PhotometricInterpretation="PALETTE COLOR"))


@pytest.mark.parametrize(
    "name,shape,raw_max",
    [("Mass-Test_P_00173_LEFT_CC.dcm", (4432, 2864), 55879), ("Mass-Test_P_00820_LEFT_CC.dcm", (4736, 2624), 65535)],
)
def test_real_cbis_ddsm_loads_upright_with_16_bit_range(cbis_dir, name, shape, raw_max):
    image = LoadMammogram()(cbis_dir / name)
    assert tuple(image.shape) == (1, *shape)  # (1, H, W): portrait, not transposed like MONAI's ITK default
    assert image.meta["bits_stored"] == 16 and image.meta["format"] == "DICOM"
    assert float(image.max()) == pytest.approx(raw_max / 65535, abs=1e-6)  # 16-bit range kept, not min-max stretched
    assert (image.meta["laterality"], image.meta["view"]) == ("L", "CC")
    third = shape[1] // 3
    # a left CC film is stored with the chest wall at the left edge and the burned-in label at the top right
    assert float(image[0, :, :third].mean()) > 3 * float(image[0, :, -third:].mean())
    label_region = image[0, : shape[0] // 8, -third:]
    assert float(label_region.max()) > 0.5  # the bright "LCC" marker sits upright at the top right
