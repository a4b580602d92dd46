"""What the three commands (``roigan-prepare-rois``, ``roigan-phantom``, ``roigan-dicom-datalist``) share: a help
formatter that shows every default, and their logging set-up."""

from __future__ import annotations

import argparse
import logging
import sys

from monai_roigan.utils.progress import PACKAGE_LOGGER

__all__ = ["DefaultsHelpFormatter", "configure_cli_logging"]


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """:class:`argparse.ArgumentDefaultsHelpFormatter` without the uninformative ``(default: None)`` of an
    option that has no default or is required."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None or action.required:
            return action.help or ""
        return super()._get_help_string(action)


def configure_cli_logging(level: int = logging.INFO) -> bool:
    """Send the ``monai_roigan`` loggers' lines at ``level`` and above to stderr, if logging is not configured yet.

    A command's ``main`` calls this first. When the root logger already has a handler (the calling program, a
    bundle's ``logging.conf`` or pytest configured logging) nothing changes and False is returned. Other
    libraries stay at the root's default level (WARNING).
    """
    if logging.getLogger().handlers:
        return False
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S", stream=sys.stderr)
    logging.getLogger(PACKAGE_LOGGER).setLevel(level)
    return True
