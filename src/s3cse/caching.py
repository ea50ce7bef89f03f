"""Public import path for the data-key cache (it lives with the keyrings)."""

from .keyrings.cache import CacheStats, CachingMaterialsManager

__all__ = ["CacheStats", "CachingMaterialsManager"]
