"""Exceptions raised by monai-roigan.

Every error about an input file names the file and the problem. The classes subclass the built-in
exception a caller would naturally catch (``ValueError``, ``FileNotFoundError``), so ``except ValueError``
keeps working for code that does not know this package.
"""

from __future__ import annotations

from os import PathLike

__all__ = [
    "FileProblemError",
    "MammogramReadError",
    "UnsupportedTransferSyntaxError",
    "AnnotationError",
    "MissingImageError",
    "CheckpointError",
    "ModelFileError",
    "ConfigurationError",
]


class FileProblemError(ValueError):
    """Base of the errors about one file: ``.path`` names it, ``.problem`` says what is wrong."""

    def __init__(self, path: str | PathLike, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class MammogramReadError(FileProblemError):
    """An image file could not be decoded into correct pixels (bad header, truncated data, no pixel data)."""


class UnsupportedTransferSyntaxError(MammogramReadError):
    """A DICOM file uses a compressed transfer syntax for which no decoder is installed."""


class AnnotationError(ValueError):
    """An annotation file (MIAS ``Info.txt``, a CBIS-DDSM CSV, an ROI table) is malformed.

    ``line`` is the 1-based line number in the file where it is known.
    """

    def __init__(self, path: str | PathLike, problem: str, line: int | None = None):
        self.path = str(path)
        self.problem = problem
        self.line = line
        where = f"{self.path}, line {line}" if line is not None else self.path
        super().__init__(f"{where}: {problem}")


class MissingImageError(FileNotFoundError):
    """An annotation refers to an image file that does not exist (raised in strict mode)."""


class CheckpointError(FileProblemError):
    """A checkpoint or weights file was refused (pickled code), is unreadable, or does not fit the model."""


class ModelFileError(FileProblemError):
    """A metric's model file (a BRISQUE libsvm model or range file, an encoder network) is malformed or refused."""


class ConfigurationError(ValueError):
    """A training or inference setup that cannot work, found before the first step (see ``check_training_setup``)."""
