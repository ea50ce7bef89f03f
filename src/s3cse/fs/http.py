"""The HTTP session of the filesystem's aiobotocore clients: aiohttp's, reading response
header lines as long as botocore does.

aiohttp refuses a header line over 8 KiB as a broken response, where botocore (through
``http.client``) reads up to 64 KiB. An object whose metadata is that large is then read
as what it holds (and refused by s3cse for it: ``MetadataError``), as it always was
through ``s3cse://``, instead of as an unreachable endpoint.
"""

from __future__ import annotations

from typing import Any

from aiobotocore.httpsession import AIOHTTPSession

HEADER_LINE_LIMIT = 64 * 1024
"""``http.client``'s limit on a header line, which botocore reads with."""


class LongHeaderSession(AIOHTTPSession):  # type: ignore[misc]
    """aiobotocore's HTTP session, its aiohttp sessions taking header lines of up to
    ``HEADER_LINE_LIMIT`` bytes."""

    async def _get_session(self, proxy_url: Any) -> Any:
        session = await super()._get_session(proxy_url)
        session._max_line_size = session._max_field_size = HEADER_LINE_LIMIT
        return session
