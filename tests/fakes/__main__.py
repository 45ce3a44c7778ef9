"""Run the fake hub by hand: `python -m tests.fakes --port 8765` (civitai, +1 hub, +2 cdn)."""

from __future__ import annotations

import argparse
import threading

from tests.fakes.catalog import MIB, default_catalog
from tests.fakes.fakehub import FakeHub


def main(argv: list[str] | None = None) -> int:
    """Serve the default catalog until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m tests.fakes", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="Civitai port; Hub +1, CDN +2")
    parser.add_argument("--rate", type=float, default=None, help="bytes/s cap per connection")
    parser.add_argument("--big-mib", type=int, default=0, help="add a Checkpoint of this many MiB")
    parser.add_argument("--civitai-key", default=None, help="key required for login-only files")
    parser.add_argument("--hf-token", default=None, help="token accepted by gated repos")
    args = parser.parse_args(argv)
    catalog = default_catalog()
    if args.big_mib:
        big = catalog.add_big_model(size=args.big_mib * MIB)
        print(f"big model: civitai:{big.id}@{big.versions[0].id}")
    ports = {}
    if args.port:
        ports = {"civitai_port": args.port, "hub_port": args.port + 1, "cdn_port": args.port + 2}
    hub = FakeHub(catalog, **ports)
    hub.rate_per_connection = args.rate
    hub.civitai_key = args.civitai_key
    hub.hf_token = args.hf_token
    with hub:
        print(f"MODELLA_CIVITAI_URL={hub.civitai_url}")
        print(f"HF_ENDPOINT={hub.hub_url}")
        print(f"CDN={hub.cdn_url}", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print("stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
