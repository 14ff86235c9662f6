"""oz: a self-hostable identity layer for cloud agents."""

__version__ = "0.1.0"
