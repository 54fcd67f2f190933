"""Stores: where messages live. See :mod:`hyperbeam.store.base` for the interface."""
