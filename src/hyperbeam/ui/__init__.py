"""The node's web page (served by hyperbuddy@1.0)."""
