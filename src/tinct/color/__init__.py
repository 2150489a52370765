"""Colour maths: CIELAB conversion, ab bins, priors and rebalancing weights."""
from .bins import DECODES, GRIDS, bin_centres, decode, encode_hard, encode_soft, to_dense
from .lab import LabToRgb, RgbToLab, grey_rgb, lab_to_rgb, rgb_from_u8, rgb_to_lab
from .rebalance import correction_shift, histogram, rebalance_weights, smooth_prior

__all__ = ["DECODES", "GRIDS", "bin_centres", "decode", "encode_hard", "encode_soft", "to_dense", "LabToRgb",
           "RgbToLab", "grey_rgb", "lab_to_rgb", "rgb_from_u8", "rgb_to_lab", "correction_shift", "histogram", "rebalance_weights", "smooth_prior"]
