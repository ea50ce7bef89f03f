"""What the raw (AES and RSA) keyrings share: material descriptions and key choice."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Generic, TypeVar

from ..materials import Keyring, require_ascii_map

K = TypeVar("K")


class RawKeyring(Keyring, Generic[K]):
    """A raw keyring holds one current master key and, optionally, older ones.

    Each key has a material description (a JSON map of strings stored with every object
    it wraps), so a reader holding several keys tries the one the object names first.
    That is how objects stay readable after the master key is rotated.
    """

    def __init__(
        self,
        key: K,
        material_description: Mapping[str, str] | None,
        additional_keys: Iterable[tuple[Mapping[str, str], K]],
    ) -> None:
        self.material_description = require_ascii_map(
            material_description or {}, "material description"
        )
        self._keys: list[tuple[dict[str, str], K]] = [(self.material_description, key)]
        for matdesc, extra in additional_keys:
            self._keys.append((require_ascii_map(matdesc, "material description"), extra))

    @property
    def current_key(self) -> K:
        return self._keys[0][1]

    def candidate_keys(self, stored: Mapping[str, str], *, try_all: bool) -> list[K]:
        """Keys whose description matches the stored one, then (if safe) all others.

        ``try_all`` is for authenticated unwrapping only: a wrong key is detected there,
        while an unauthenticated legacy unwrap would turn a wrong key into a wrong answer.
        """
        matching = [key for desc, key in self._keys if desc == dict(stored)]
        if not matching and not try_all:
            return [self.current_key]
        if try_all:
            matching += [key for desc, key in self._keys if desc != dict(stored)]
        return matching
