"""Floating IPs: pools published as network-attached slices, and (later) the node side."""
