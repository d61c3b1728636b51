"""The editor as a model, without Qt: its state, the rules of editing, and the canvas tools.

`roto.ui` renders this state and forwards input to it; tests and the CLI drive it directly.
"""
