from .array import LoadMammogram, SaveSyntheticDICOM
from .dictionary import (
    LoadMammogramd,
    LoadMammogramD,
    LoadMammogramDict,
    SaveSyntheticDICOMd,
    SaveSyntheticDICOMD,
    SaveSyntheticDICOMDict,
)

__all__ = [
    "LoadMammogram",
    "LoadMammogramd",
    "LoadMammogramD",
    "LoadMammogramDict",
    "SaveSyntheticDICOM",
    "SaveSyntheticDICOMd",
    "SaveSyntheticDICOMD",
    "SaveSyntheticDICOMDict",
]
