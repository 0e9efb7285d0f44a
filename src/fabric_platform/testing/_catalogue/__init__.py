"""The built-in named workflows (text, image, video) the engine runs, their typed inputs and
results, and the deterministic artifacts (PNG, MP4) they produce. No I/O and no store access.
"""
