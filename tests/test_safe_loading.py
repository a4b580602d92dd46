"""Safe loading: every entry point that reads a .pt or .npz file refuses pickled code before it can run.

The hostile file is a real pickle whose ``__reduce__`` would create a marker file when unpickled; each
loader must raise :class:`CheckpointError` (or the ROI cache's ValueError) naming the file and "refused",
and the marker must never appear.
"""

import os

import numpy as np
import pytest
import torch
from ignite.engine import Engine

from monai_roigan.data.roi_cache import load_roi_cache
from monai_roigan.handlers import ExportGenerator, GanCheckpointLoader, load_checkpoint
from monai_roigan.networks import GeneratorSource, load_generator
from monai_roigan.networks.nets import ROIGenerator
from monai_roigan.utils import CheckpointError, load_state_file


class Payload:
    """Unpickling this object would run ``open(marker, "w")``: the attack a weights file can carry."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture
def hostile(tmp_path):
    marker = tmp_path / "payload_ran"
    path = tmp_path / "models" / "model.pt"
    path.parent.mkdir()
    torch.save({"project.0.weight": torch.zeros(2, 2), "evil": Payload(marker)}, path)
    yield path
    assert not marker.exists(), "a loader ran the pickled payload"


def small_generator():
    return ROIGenerator(latent_dim=8, num_classes=2, width=1 / 64)


LOADERS = {
    "load_state_file": lambda p: load_state_file(p),
    "load_checkpoint": lambda p: load_checkpoint(p, {"generator": small_generator()}),
    "load_generator": lambda p: load_generator(p),
    "GeneratorSource(file)": lambda p: GeneratorSource(p),
    "GeneratorSource(bundle)": lambda p: GeneratorSource(p.parent.parent),
}


@pytest.mark.parametrize("loader", LOADERS.values(), ids=LOADERS.keys())
def test_every_loader_refuses_pickled_code(hostile, loader):
    with pytest.raises(CheckpointError, match="refused by the safe loader") as info:
        loader(hostile)
    assert str(hostile) in str(info.value)


def test_resume_refuses_a_hostile_latest_checkpoint(hostile, tmp_path):
    ckpt = tmp_path / "checkpoints"
    ckpt.mkdir()
    os.replace(hostile, ckpt / "checkpoint_10.pt")
    engine = Engine(lambda e, b: None)
    GanCheckpointLoader(ckpt, {"generator": small_generator()}).attach(engine)
    with pytest.raises(CheckpointError, match="checkpoint_10.pt: refused"):
        engine.run([0], max_epochs=1)


def test_export_refuses_a_hostile_best_checkpoint(hostile, tmp_path):
    ckpt = tmp_path / "checkpoints"
    ckpt.mkdir()
    os.replace(hostile, ckpt / "best_checkpoint_10_quality=0.5.pt")
    engine = Engine(lambda e, b: None)
    engine.state.best_checkpoint = str(ckpt / "best_checkpoint_10_quality=0.5.pt")  # as the saver publishes it
    export = ExportGenerator(small_generator(), tmp_path / "model.pt")
    with pytest.raises(CheckpointError, match="refused"):
        export(engine)
    assert not (tmp_path / "model.pt").exists()


def test_truncated_checkpoint_is_unreadable_not_a_crash(tmp_path):
    path = tmp_path / "checkpoint_3.pt"
    torch.save({"generator": small_generator().state_dict()}, path)
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="unreadable"):
        load_state_file(path)


def test_roi_cache_with_pickled_objects_is_refused(tmp_path):
    marker = tmp_path / "payload_ran"
    path = tmp_path / "rois.npz"
    np.savez(path, images=np.array([Payload(marker)], dtype=object), labels=np.zeros(1))
    with pytest.raises(ValueError, match="rois.npz: unreadable or unsafe ROI cache"):
        load_roi_cache(path)
    assert not marker.exists()


def test_garbage_bytes_are_unreadable_not_called_code(tmp_path):
    path = tmp_path / "garbage.pt"
    path.write_bytes(b"\x80\x04not a torch file at all")
    with pytest.raises(CheckpointError, match="garbage.pt: unreadable"):
        load_state_file(path)
