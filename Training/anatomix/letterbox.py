"""The AnatomiX input transform, twin of Shared/Imaging/Letterbox.swift: zero-pad the image to a
centred square (whole-pixel padding, extra pixel right/bottom), then area-resample it to the
model's canvas; boxes go through the same offset and scale."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np


@dataclass(frozen=True)
class Letterbox:
    width: int
    height: int
    canvas: int

    @property
    def side(self) -> int:
        return max(self.width, self.height)

    @property
    def scale(self) -> float:
        return self.canvas / self.side

    @property
    def offset(self) -> tuple[int, int]:
        return (self.side - self.width) // 2, (self.side - self.height) // 2

    def to_canvas(self, boxes: np.ndarray) -> np.ndarray:
        """[..., 4] xyxy original pixels -> canvas pixels."""
        ox, oy = self.offset
        return (np.asarray(boxes, dtype=np.float64) + [ox, oy, ox, oy]) * self.scale

    def to_original(self, boxes: np.ndarray) -> np.ndarray:
        ox, oy = self.offset
        b = np.asarray(boxes, dtype=np.float64) / self.scale - [ox, oy, ox, oy]
        return np.clip(b, 0, [self.width, self.height, self.width, self.height])

    def apply(self, image: np.ndarray) -> np.ndarray:
        """[H, W] float -> [canvas, canvas] float32."""
        assert image.shape == (self.height, self.width), (image.shape, self.height, self.width)
        ox, oy = self.offset
        square = np.zeros((self.side, self.side), dtype=np.float32)
        square[oy:oy + self.height, ox:ox + self.width] = image
        w = area_weights(self.side, self.canvas)                   # [canvas, side]
        return (w @ square @ w.T).astype(np.float32)


@lru_cache(maxsize=64)
def area_weights(n: int, m: int) -> np.ndarray:
    """[m, n]: each output pixel's normalised overlap with the input pixels (linear interpolation
    between pixel centres when upsampling), as Resample.weights in Swift."""
    out = np.zeros((m, n), dtype=np.float32)
    ratio = n / m
    for o in range(m):
        if ratio <= 1:
            center = (o + 0.5) * ratio - 0.5
            i0 = int(np.floor(center)); t = center - i0
            a, b = min(max(i0, 0), n - 1), min(max(i0 + 1, 0), n - 1)
            if a == b:
                out[o, a] = 1.0
            else:
                out[o, a] += 1 - t; out[o, b] += t
            continue
        lo, hi = o * ratio, (o + 1) * ratio
        i = int(np.floor(lo))
        while i < hi and i < n:
            overlap = min(hi, i + 1) - max(lo, i)
            if overlap > 0:
                out[o, i] = overlap / ratio
            i += 1
    return out
