"""`modella config [get KEY | set KEY VALUE | unset KEY | path]`."""

from __future__ import annotations

import argparse
import sys

from modella_tui.core.config import SPECS, Settings
from modella_tui.core.i18n import t


def run_config(args: argparse.Namespace, settings: Settings) -> int:
    """Read or write settings; secrets are only ever shown masked."""
    action = args.config_command
    if action == "path":
        print(settings.path)
        return 0
    if action == "get":
        value = settings.display(args.key)
        print(value)
        _note_source(settings, args.key)
        return 0
    if action == "set":
        settings.set(args.key, args.value)
        print(
            t(
                "config.saved",
                key=args.key,
                value=settings.display_file(args.key),
                path=str(settings.path),
            )
        )
        if settings.source(args.key) == "env":
            sys.stderr.write(t("config.env_overrides", key=args.key) + "\n")
        return 0
    if action == "unset":
        settings.unset(args.key)
        print(t("config.unset", key=args.key))
        return 0
    width = max(len(s.key) for s in SPECS)
    for spec in SPECS:
        source = t(f"config.source.{settings.source(spec.key)}")
        print(f"{spec.key:<{width}}  {settings.display(spec.key)}  ({source})")
    return 0


def _note_source(settings: Settings, key: str) -> None:
    if settings.source(key) == "env":
        sys.stderr.write(t("config.from_env", key=key) + "\n")
