from .array import LoadMammogram, SaveSyntheticDICOM
from .dictionary import (
    LoadMammogramD,
    LoadMammogramd,
    LoadMammogramDict,
    SaveSyntheticDICOMD,
    SaveSyntheticDICOMd,
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
