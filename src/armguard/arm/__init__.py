"""ARM template expressions: parser, evaluator and the standard function library."""

__all__ = ["load_graph"]


def __getattr__(name: str):
    # Lazy, so that importing one module of the package does not load the whole front end.
    if name == "load_graph":
        from armguard.arm.loader import load_graph

        return load_graph
    raise AttributeError(f"module 'armguard.arm' has no attribute {name!r}")
