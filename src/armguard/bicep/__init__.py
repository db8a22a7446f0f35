"""The Bicep front end: lexer, parser and semantic model."""

from armguard.bicep.parser import parse_source, parse_text

__all__ = ["parse_source", "parse_text"]
