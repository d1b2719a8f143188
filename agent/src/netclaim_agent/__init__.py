"""netclaim node agent and cluster controller."""

DRIVER_NAME = "netclaim.io"
"""The DRA driver name: ResourceSlices, allocation results, CDI vendor and attribute domain."""

__version__ = "0.1.0"
