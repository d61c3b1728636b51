"""Animated vector shape files (SVG, Lottie, Nuke, After Effects, Blender) from roto.shapes paths."""
