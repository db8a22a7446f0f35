"""ARM template expressions: parser, evaluator and the standard function library."""
