"""Every hubsr architecture, one module each; importing this package registers them all."""

from .span import SPAN

__all__ = ["SPAN"]
