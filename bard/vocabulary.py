"""Characters <-> integer ids. Built from the training text and stored in every checkpoint."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

import numpy as np
import torch

ENCODE_CHUNK = 1 << 22  # characters encoded at once: 16 MB of code points


class Vocabulary:
    def __init__(self, chars: str):
        if len(set(chars)) != len(chars) or not chars:
            raise ValueError("a vocabulary needs distinct characters")
        self.chars = chars
        self.index = {c: i for i, c in enumerate(chars)}
        self.lowercase_only = chars == chars.lower()
        # The narrowest integer type that holds every id, so a large corpus stays compact.
        self.dtype = torch.uint8 if len(chars) <= 256 else torch.int16 if len(chars) <= 32767 else torch.int32
        # One lookup table over code points encodes a whole text in a single numpy gather.
        numpy_dtype = {torch.uint8: np.uint8, torch.int16: np.int16, torch.int32: np.int32}[self.dtype]
        self.table = np.zeros(max(map(ord, chars)) + 1, dtype=numpy_dtype)
        self.table[[ord(c) for c in chars]] = np.arange(len(chars))

    @classmethod
    def from_text(cls, text: str) -> Vocabulary:
        return cls("".join(sorted(set(text))))

    def __len__(self) -> int:
        return len(self.chars)

    def map_char(self, char: str) -> str:
        """A character the model knows for `char`: itself, its case fold, its NFKD ASCII letters,
        or nothing. Deterministic, never raises."""
        if char in self.index:
            return char
        if self.lowercase_only and char.lower() in self.index:
            return char.lower()
        if char.isspace() and " " in self.index:
            return " "
        decomposed = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
        return "".join(self.map_char(c) for c in decomposed if c != char)

    def normalize(self, text: str) -> str:
        """Map any text into this vocabulary's characters."""
        if all(c in self.index for c in text):
            return text
        return "".join(self.map_char(c) for c in text)

    def encode(self, text: str, on_chunk: Callable[[int], None] | None = None) -> torch.Tensor:
        """Ids of `text` (mapped into the vocabulary first) as a compact 1-D tensor. A long text is
        encoded a chunk at a time, so the 4-byte code points of only one chunk exist at once;
        `on_chunk(characters)` is told after each."""
        pieces = []
        for start in range(0, len(text), ENCODE_CHUNK):
            chunk = self.normalize(text[start : start + ENCODE_CHUNK])
            codes = np.frombuffer(chunk.encode("utf-32-le"), dtype=np.uint32)
            pieces.append(torch.from_numpy(self.table[codes]))
            if on_chunk:
                on_chunk(min(ENCODE_CHUNK, len(text) - start))
        return torch.cat(pieces) if pieces else torch.empty(0, dtype=self.dtype)

    def decode(self, ids) -> str:
        if isinstance(ids, torch.Tensor):
            ids = ids.tolist()
        return "".join(self.chars[i] for i in ids)
