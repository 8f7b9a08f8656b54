"""The web chat for the `rag` engine: `rag serve`, or `from rag.ui.app import serve, build_app`.

The folder is ui/ in the source tree and installs as the package rag.ui.
"""
