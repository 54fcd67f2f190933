"""A Python node for the AO-Core protocol (HyperBEAM)."""

from __future__ import annotations

__version__ = "0.1.0"
