"""Modella: a terminal model manager for Civitai and Hugging Face on GPU pods."""

__version__ = "0.1.0"
