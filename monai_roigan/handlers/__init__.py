"""Placeholder: filled by the model, trainer and evaluation issues."""
