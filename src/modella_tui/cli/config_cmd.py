"""`modella config [get KEY | set KEY VALUE | unset KEY | path]`."""

from __future__ import annotations

import argparse
import sys

from modella_tui.core.config import SPECS, Settings
from modella_tui.core.i18n import t
from modella_tui.core.textsafe import clean


def _out(text: str) -> None:
    # Values can come from the environment or a file someone else wrote: never raw to a terminal.
    print(clean(text))


def _err(text: str) -> None:
    sys.stderr.write(clean(text) + "\n")


def run_config(args: argparse.Namespace, settings: Settings) -> int:
    """Read or write settings; secrets are only ever shown masked."""
    action = args.config_command
    if action == "path":
        _out(str(settings.path))
        return 0
    if action == "get":
        _out(settings.display(args.key))
        _note_source(settings, args.key)
        return 0
    if action == "set":
        settings.set(args.key, args.value)
        _out(
            t(
                "config.saved",
                key=args.key,
                value=settings.display_file(args.key),
                path=str(settings.path),
            )
        )
        if settings.source(args.key) == "env":
            _err(t("config.env_overrides", key=args.key))
        return 0
    if action == "unset":
        settings.unset(args.key)
        _out(t("config.unset", key=args.key))
        return 0
    width = max(len(s.key) for s in SPECS)
    for spec in SPECS:
        source = t(f"config.source.{settings.source(spec.key)}")
        _out(f"{spec.key:<{width}}  {settings.display(spec.key)}  ({source})")
    return 0


def _note_source(settings: Settings, key: str) -> None:
    if settings.source(key) == "env":
        _err(t("config.from_env", key=key))
