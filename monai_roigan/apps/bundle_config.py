"""The bundle's overlay configs name what they lack.

``evaluate.json``, ``downstream.json``, ``pretrain.json`` and the ``multi_gpu_*.json`` configs are overlays: they
read the data, class, split and network settings of the config they lay over (``train.json``, or
``inference.json`` for ``multi_gpu_inference.json``). Run alone (``python -m monai.bundle run --config_file
bundle/configs/evaluate.json``), MONAI would fail on the first missing reference with "the referring item
`@model_path` is not defined in the config content", which names neither the file to add nor the command that
works. So each overlay's first step (the first item of its ``initialize``, or of its run target where the
overlay keeps the base config's ``initialize``) is :func:`check_overlay`: it reads the merged config through the
MONAI resolver that is evaluating it and raises a :class:`~monai_roigan.utils.errors.ConfigurationError` that
names every key referred to but defined nowhere, the overlay, and the ``--config_file`` list that runs it.

MONAI's own mechanism for this, the workflow properties (``properties_path``, ``check_properties``), is not
checked by ``python -m monai.bundle run``, so it cannot give this error; a config expression can.

:func:`bundle_run_arguments` reads, the same way, the config files and command-line settings of the running
``monai.bundle`` run (``apps.seed_generators`` trains more generators with them).
"""

from __future__ import annotations

import inspect
from pathlib import Path

from monai.bundle import ConfigWorkflow
from monai.bundle.reference_resolver import ReferenceResolver

from monai_roigan.utils.errors import ConfigurationError

__all__ = ["bundle_run_arguments", "check_overlay", "undefined_references"]


def _first_caller(found):
    """``found(frame)`` of the innermost caller's frame for which it is not None, or None."""
    frame = inspect.currentframe()
    try:
        while frame is not None:
            value = found(frame)
            if value is not None:
                return value
            frame = frame.f_back
        return None
    finally:
        del frame


def _on_stack(kind: type):
    """The innermost ``self`` of class ``kind`` among the callers' frames, or None."""
    return _first_caller(
        lambda frame: frame.f_locals.get("self") if isinstance(frame.f_locals.get("self"), kind) else None
    )


def bundle_run_arguments() -> dict | None:
    """The arguments of the ``monai.bundle`` run that is executing (``config_file``, ``meta_file``, ``override``,
    ...: its frame's locals), or None outside one."""
    return _first_caller(
        lambda frame: (
            dict(frame.f_locals)
            if frame.f_code.co_name == "run" and frame.f_globals.get("__name__") == "monai.bundle.scripts"
            else None
        )
    )


def undefined_references(resolver: ReferenceResolver) -> list[str]:
    """The ids that the config items of ``resolver`` refer to (``@key``) but that no item defines, sorted."""
    missing = set()
    for item_id, item in resolver.items.items():
        if ReferenceResolver.sep in item_id:
            continue  # nested items: searched through their top-level item
        for ref in ReferenceResolver.find_refs_in_config(item.get_config(), item_id):
            if ref not in resolver.items:
                missing.add(ref)
    return sorted(missing)


def check_overlay(overlay: str, base: str = "train.json") -> bool:
    """Refuse to run the overlay config ``overlay`` without ``base``: raise naming every missing key.

    Called from the overlay config itself (``"$monai_roigan.apps.check_overlay('evaluate.json')"``) while MONAI
    resolves it; outside a MONAI config resolution there is nothing to check and it returns True.

    Args:
        overlay: the overlay's file name, e.g. ``"evaluate.json"``.
        base: the config it lays over, in the same folder.

    Returns:
        True when every referred key is defined.

    Raises:
        ConfigurationError: ``"bundle/configs/evaluate.json is an overlay on train.json: `model_path` is not
            defined; run with --config_file \"['bundle/configs/train.json','bundle/configs/evaluate.json']\""``.
    """
    resolver = _on_stack(ReferenceResolver)
    if resolver is None:
        return True
    missing = undefined_references(resolver)
    if not missing:
        return True
    workflow = _on_stack(ConfigWorkflow)
    folder = Path(workflow.config_root_path) if workflow is not None else Path("bundle", "configs")
    overlay_path, base_path = (folder / overlay).as_posix(), (folder / base).as_posix()
    names = ", ".join(f"`{key}`" for key in missing)
    raise ConfigurationError(
        f"{overlay_path} is an overlay on {base}: {names} {'is' if len(missing) == 1 else 'are'} not defined; "
        f"run with --config_file \"['{base_path}','{overlay_path}']\""
    )
