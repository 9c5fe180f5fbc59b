"""Agents: the protocol every controller under test speaks, loading, reference agents."""

from agents.protocol import Agent

__all__ = ["Agent"]
