"""Video colorization (``pip install 'tinct[video]'``): streamed PyAV decoding/encoding, temporal stability
along optical flow, hints that carry through a shot, image sequences in and out, and video evaluation."""
from .api import colorize_video
from .io import VIDEO_EXTS, VideoError, is_video_path
from .sequence import colorize_sequence
from .stabilize import DEFAULT_STABILITY, TemporalColorizer, colorize_frames

__all__ = ["colorize_video", "colorize_sequence", "colorize_frames", "TemporalColorizer", "VideoError", "VIDEO_EXTS",
           "is_video_path", "DEFAULT_STABILITY"]
