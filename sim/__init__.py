"""Proving Ground: a discrete-time testing sandbox for autonomous control systems."""

__version__ = "0.1.0"
