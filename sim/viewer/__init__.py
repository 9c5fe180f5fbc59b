"""The pygame viewer: replay a run folder, watch a run live, export PNG frames and GIFs.

Importing ``sim`` never imports pygame; only this package does, on use.
"""
