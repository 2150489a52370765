"""Video colorization (``pip install 'tinct[video]'``): streamed PyAV decoding/encoding, temporal stability
along optical flow, hints that carry through a shot, and video evaluation."""
from .api import colorize_video
from .io import VIDEO_EXTS, VideoError, is_video_path
from .stabilize import DEFAULT_STABILITY, TemporalColorizer, colorize_frames

__all__ = ["colorize_video", "colorize_frames", "TemporalColorizer", "VideoError", "VIDEO_EXTS", "is_video_path",
           "DEFAULT_STABILITY"]
