"""The web chat for the `rag` engine: `rag serve`, or `from ui.app import serve, build_app`."""
