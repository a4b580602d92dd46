from .array import LoadMammogram
from .dictionary import LoadMammogramd, LoadMammogramD, LoadMammogramDict

__all__ = ["LoadMammogram", "LoadMammogramd", "LoadMammogramD", "LoadMammogramDict"]
