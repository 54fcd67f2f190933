"""Lua 5.3 for the lua@5.3a device (the C Lua that lupa bundles)."""
