"""Placeholder: filled by the model work."""
__all__ = []
