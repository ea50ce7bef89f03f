"""Public import path for the client's settings (they live in the pure core)."""

from .core.config import CryptoConfig, CryptoOptions

__all__ = ["CryptoConfig", "CryptoOptions"]
