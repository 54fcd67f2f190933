"""The HTTP edge: the ASGI app, request parsing and response rendering."""
