"""armguard: keep Azure Resource Manager deployments free of operation conflicts."""

__version__ = "0.1.0"
