"""The inputs the Colorizer accepts (path, PIL image, uint8 ndarray), read into uint8 RGB and alpha."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ..files.read import open_image, to_rgb


def read_input(image, max_pixels: int) -> tuple[np.ndarray, np.ndarray | None]:
    """A path, PIL image or uint8 ndarray -> (uint8 RGB (H, W, 3), uint8 alpha (H, W) or None)."""
    if isinstance(image, (str, Path)):
        image = open_image(image, max_pixels)
    if isinstance(image, Image.Image):
        img = to_rgb(image)
        arr = np.asarray(img)
    elif isinstance(image, np.ndarray):
        if image.dtype != np.uint8:
            raise ValueError(f"ndarray input must be uint8, not {image.dtype}")
        arr = image
        if arr.ndim == 2:
            arr = np.repeat(arr[:, :, None], 3, 2)
        if arr.ndim != 3 or arr.shape[2] not in (3, 4):
            raise ValueError(f"ndarray input must be (H, W), (H, W, 3) or (H, W, 4), not {image.shape}")
    else:
        raise TypeError(f"cannot colorize a {type(image).__name__}; give a path, PIL image or ndarray")
    if arr.shape[0] * arr.shape[1] > max_pixels:
        raise ValueError(f"image is {arr.shape[1]}x{arr.shape[0]}, over the limit of {max_pixels} pixels")
    if arr.shape[2] == 4:
        return np.ascontiguousarray(arr[:, :, :3]), np.ascontiguousarray(arr[:, :, 3])
    return arr, None
