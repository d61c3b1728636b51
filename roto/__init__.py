"""Roto: a rotoscoping editor built on SAM2 through ONNX Runtime."""

__version__ = "0.1.0"
