"""KMS key ARNs, multi-Region keys and the allow-list of a discovery keyring.

Pure functions. A discovery keyring lets KMS pick the key from the wrapped data key, so
what decides trust is which key KMS says it used: the allow-list is checked against
that answer (a full key ARN), never against anything the object's metadata claims.

An allow-list entry is a key ARN, or an account as ``account:ID`` (in the partition of
the keyring's Region) or ``account:PARTITION:ID``. A multi-Region key's ARN (its id
starts ``mrk-``) also allows its replicas in every other Region of its partition: they
share its key material, so a replica unwraps what the primary wrapped.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import ConfigurationError, KmsKeyNotAllowedError

MRK_PREFIX = "mrk-"
_ACCOUNT = re.compile(r"^\d{12}$")
_PARTITIONS = (("cn-", "aws-cn"), ("us-gov-", "aws-us-gov"), ("us-iso-", "aws-iso"))


@dataclass(frozen=True)
class KeyArn:
    """``arn:PARTITION:kms:REGION:ACCOUNT:key/ID`` taken apart."""

    partition: str
    region: str
    account: str
    key: str

    @property
    def multi_region(self) -> bool:
        return self.key.startswith(MRK_PREFIX)

    def in_region(self, region: str) -> KeyArn:
        return KeyArn(self.partition, region, self.account, self.key)

    def __str__(self) -> str:
        return f"arn:{self.partition}:kms:{self.region}:{self.account}:key/{self.key}"


def parse_key_arn(text: str) -> KeyArn | None:
    """The parts of a KMS key ARN; None for anything else (a bare key id, an alias name
    or alias ARN), which names a key only inside one Region's KMS."""
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "kms":
        return None
    _, partition, _, region, account, resource = parts
    kind, _, key = resource.partition("/")
    if kind != "key" or not key or not region or not partition or not _ACCOUNT.match(account):
        return None
    return KeyArn(partition, region, account, key)


def region_of(key_id: str | None) -> str | None:
    """The Region a key ARN names (its KMS client must be there); None if not an ARN."""
    arn = parse_key_arn(key_id) if key_id else None
    return arn.region if arn else None


def partition_of(region: str | None) -> str:
    """The AWS partition a Region belongs to (``aws`` for the commercial Regions)."""
    for prefix, partition in _PARTITIONS:
        if region and region.startswith(prefix):
            return partition
    return "aws"


def same_key(allowed: KeyArn, used: KeyArn) -> bool:
    """Whether ``used`` is the allowed key, or (a multi-Region key) one of its replicas."""
    if allowed.multi_region:
        return (allowed.partition, allowed.account, allowed.key) == (
            used.partition,
            used.account,
            used.key,
        )
    return allowed == used


@dataclass(frozen=True)
class AllowList:
    """Which KMS keys a discovery keyring accepts: by ARN, or every key of an account."""

    keys: tuple[KeyArn, ...]
    accounts: tuple[tuple[str, str], ...]
    """(partition, account id) pairs."""

    @classmethod
    def parse(cls, entries: Iterable[str], region: str | None) -> AllowList:
        keys: list[KeyArn] = []
        accounts: list[tuple[str, str]] = []
        for entry in entries:
            entry = entry.strip()
            if entry.startswith("account:"):
                accounts.append(_account_entry(entry, region))
                continue
            arn = parse_key_arn(entry)
            if arn is None:
                raise ConfigurationError(
                    f"KMS allow-list entry {entry!r} is neither a key ARN "
                    "(arn:aws:kms:REGION:ACCOUNT:key/ID) nor account:ACCOUNT_ID "
                    "(or account:PARTITION:ACCOUNT_ID); aliases and bare key ids name "
                    "different keys in different places, so they cannot be allowed"
                )
            keys.append(arn)
        if not keys and not accounts:
            raise ConfigurationError(
                "KMS discovery needs an allow-list: the key ARNs or accounts whose keys may "
                "unwrap data keys. Without one, anyone who can write to the bucket could "
                "wrap a data key under a key of their own that lets you decrypt",
                hint="On the command line: --kms-allow ARN or --kms-allow account:ACCOUNT_ID",
            )
        return cls(tuple(keys), tuple(accounts))

    def allows(self, used: KeyArn) -> bool:
        if (used.partition, used.account) in self.accounts:
            return True
        return any(same_key(allowed, used) for allowed in self.keys)

    @property
    def entries(self) -> tuple[str, ...]:
        """The list as entries ``parse`` takes back (each account with its partition)."""
        named = [str(k) for k in self.keys]
        named += [f"account:{partition}:{account}" for partition, account in self.accounts]
        return tuple(named)

    def __str__(self) -> str:
        return ", ".join(self.entries)


def _account_entry(entry: str, region: str | None) -> tuple[str, str]:
    parts = entry.split(":")
    if len(parts) == 2:
        partition, account = partition_of(region), parts[1]
    elif len(parts) == 3:
        partition, account = parts[1], parts[2]
    else:
        partition, account = "", ""
    if not partition or not _ACCOUNT.match(account):
        raise ConfigurationError(
            f"KMS allow-list entry {entry!r}: an account is account:ACCOUNT_ID (twelve "
            "digits) or account:PARTITION:ACCOUNT_ID"
        )
    return partition, account


def default_region() -> str | None:
    """The Region boto3 would pick up from the environment (for an account's partition)."""
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None


def discovery_key_id(claimed: str, allow: AllowList, region: str | None) -> str:
    """The KeyId a discovery keyring sends for a V1-era ``kms`` object, which says in
    its material description which key wrapped it. A key ARN that is not allowed is
    refused before KMS is asked; a multi-Region key's ARN from another Region becomes
    its replica's in the keyring's Region. What KMS answers is checked all the same."""
    arn = parse_key_arn(claimed)
    if arn is None:
        return claimed  # an alias or bare id: only KMS's answer says which key it is
    if not allow.allows(arn):
        raise not_allowed(str(arn), allow)
    if arn.multi_region and region and arn.region != region:
        return str(arn.in_region(region))
    return claimed


def check_key_used(used: str | None, allow: AllowList) -> str:
    """The key KMS says it used, if allowed; else the data key must not be used."""
    arn = parse_key_arn(used) if used else None
    if arn is None:
        raise KmsKeyNotAllowedError(
            "KMS did not say which key unwrapped the data key (no key ARN in its Decrypt "
            f"answer: {used!r}), so it cannot be checked against the allow-list"
        )
    if not allow.allows(arn):
        raise not_allowed(used or "", allow)
    return str(arn)


def not_allowed(key: str, allow: AllowList) -> KmsKeyNotAllowedError:
    return KmsKeyNotAllowedError(
        f"the object's data key is wrapped under KMS key {key}, which is not on the "
        f"allow-list ({allow}): it was written under another key, or someone who can write "
        "to the bucket wrapped its data key under a key of their own; it was not used",
        hint="If you trust that key, allow it: --kms-allow ARN or --kms-allow account:ID",
    )
