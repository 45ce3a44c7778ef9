"""`python -m modella_tui.serve`: the server without the main CLI (tests, and a custom app command)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the serve options, run the server, turn a ModellaError into its exit code."""
    from modella_tui.core import config, i18n
    from modella_tui.core.errors import ModellaError
    from modella_tui.serve.server import run_serve

    parser = argparse.ArgumentParser(prog="modella-serve")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--public-url")
    parser.add_argument("--token")
    parser.add_argument("--command", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    settings = config.load()
    i18n.set_language(i18n.resolve_language(settings.get("language")))
    try:
        return run_serve(
            settings, args.host, args.port, args.public_url, args.token, command=args.command
        )
    except ModellaError as exc:
        sys.stderr.write(exc.message + "\n")
        return exc.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
