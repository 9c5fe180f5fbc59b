"""The pygame viewer: replay a run folder, watch a run live, export PNG frames and GIFs.

Importing ``sim`` never imports pygame; only this package does, on use.
"""

import os

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # before any module imports pygame
