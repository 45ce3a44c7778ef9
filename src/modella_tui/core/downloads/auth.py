"""Which credentials a download request may carry: each only to its own origin."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modella_tui.core.civitai.client import CivitaiClient
    from modella_tui.core.hub.client import HubClient


def download_auth(civitai: CivitaiClient, hub: HubClient) -> Callable[[str], dict[str, str]]:
    """Headers for an API URL: Civitai's key on its origin, the HF token on the Hub's, else none."""

    def headers(url: str) -> dict[str, str]:
        # `headers_for` always returns a User-Agent, so `civitai or hub` would never ask the Hub;
        # pick by origin instead. Each client answers only for its own origin (never a CDN).
        if civitai.is_api_origin(url):
            return civitai.headers_for(url)
        return hub.auth_headers(url)

    return headers
