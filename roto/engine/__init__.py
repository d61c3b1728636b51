"""Model work: SAM2 bundles, ONNX Runtime sessions, prompt decoding and video propagation (no Qt)."""
