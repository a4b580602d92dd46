"""Fault injection: run a bundle command, and SIGKILL this process half-way through a checkpoint write.

    python -m tests.kill_during_checkpoint_write N -- python -m monai.bundle run training --config_file ...

``torch.save`` is wrapped: on the N-th save into a ``checkpoints`` folder it writes the first half of the
serialised bytes to the open temporary file, flushes them to disk, and kills its own process with SIGKILL, the
way an out-of-memory killer or a cluster scheduler would in the middle of a write.
"""

import io
import os
import runpy
import signal
import sys

import torch

_real_save = torch.save
_saves = 0


def _dying_save(obj, f, *args, **kwargs):
    global _saves
    target = getattr(f, "name", f)
    if os.path.basename(os.path.dirname(os.fspath(target))) != "checkpoints":
        return _real_save(obj, f, *args, **kwargs)
    _saves += 1
    if _saves < KILL_AT:
        return _real_save(obj, f, *args, **kwargs)
    buf = io.BytesIO()
    _real_save(obj, buf, *args, **kwargs)
    f.write(buf.getvalue()[: len(buf.getvalue()) // 2])
    f.flush()
    os.fsync(f.fileno())
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    KILL_AT = int(sys.argv[1])
    command = sys.argv[sys.argv.index("--") + 1 :]
    assert command[:3] == ["python", "-m", "monai.bundle"], "only 'python -m monai.bundle ...' is supported"
    torch.save = _dying_save
    sys.argv = ["monai.bundle", *command[3:]]
    runpy.run_module("monai.bundle", run_name="__main__", alter_sys=True)
