"""The Bicep front end: lexer, parser, semantic model and loader."""

from armguard.bicep.loader import load_graph, load_params
from armguard.bicep.parser import parse_source, parse_text

__all__ = ["load_graph", "load_params", "parse_source", "parse_text"]
