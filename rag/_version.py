"""The package version, in a module of its own so that no module imports back up the tree for it."""

__version__ = "0.2.0"
