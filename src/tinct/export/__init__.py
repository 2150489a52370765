"""Exporting models to other runtimes (ONNX). Needs the ``onnx`` extra: ``pip install 'tinct[onnx]'``."""
from .onnx import DEFAULT_OPSET, FORMAT, export_onnx, read_metadata, to_onnx_bytes

__all__ = ["DEFAULT_OPSET", "FORMAT", "export_onnx", "read_metadata", "to_onnx_bytes"]
