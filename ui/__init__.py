"""The web chat for the `rag` engine: `rag serve`, or `from rag.ui.app import serve, build_app` (installed as rag.ui)."""
