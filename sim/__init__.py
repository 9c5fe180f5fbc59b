"""Proving Ground: a discrete-time testing sandbox for autonomous control systems."""

__version__ = "0.2.0"
