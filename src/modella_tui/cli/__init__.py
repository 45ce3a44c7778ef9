"""The `modella` command line. Imports stay lazy so `modella --version` is fast."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from modella_tui import __version__


class _Parser(argparse.ArgumentParser):
    """argparse that exits with code 2 and one translated sentence on bad usage."""

    def error(self, message: str) -> Any:
        from modella_tui.core.i18n import t

        self.print_usage(sys.stderr)
        sys.stderr.write(t("cli.usage_error", prog=self.prog, message=message) + "\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; help texts are translated at build time."""
    from modella_tui.core.i18n import t

    p = _Parser(prog="modella", description=t("cli.description"))
    p.add_argument("--version", action="version", version=f"modella {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    sv = sub.add_parser("serve", help=t("cli.serve.help"))
    sv.add_argument("--host", default="127.0.0.1", help=t("cli.serve.host"))
    sv.add_argument("--port", type=int, default=8000, help=t("cli.serve.port"))
    sv.add_argument("--public-url", default=None, help=t("cli.serve.public_url"))
    sv.add_argument("--token", default=None, help=t("cli.serve.token"))

    s = sub.add_parser("search", help=t("cli.search.help"))
    s.add_argument("query", nargs="?", default="", help=t("cli.search.query"))
    s.add_argument("--tag", help=t("cli.search.tag"))
    s.add_argument("--user", help=t("cli.search.user"))
    s.add_argument("--type", action="append", default=[], dest="types", help=t("cli.search.type"))
    s.add_argument("--base", action="append", default=[], dest="bases", help=t("cli.search.base"))
    s.add_argument("--sort", help=t("cli.search.sort"))
    s.add_argument("--period", help=t("cli.search.period"))
    s.add_argument("--nsfw", action="store_true", help=t("cli.search.nsfw"))
    s.add_argument("--limit", type=int, default=20, help=t("cli.search.limit"))
    s.add_argument("--json", action="store_true", help=t("cli.json"))

    sh = sub.add_parser("show", help=t("cli.show.help"))
    sh.add_argument("ref", help=t("cli.ref"))
    sh.add_argument("--json", action="store_true", help=t("cli.json"))

    d = sub.add_parser("download", help=t("cli.download.help"))
    d.add_argument("refs", nargs="+", metavar="REF", help=t("cli.ref"))
    d.add_argument("--file", dest="file_glob", help=t("cli.download.file"))
    d.add_argument("--dir", dest="target_dir", help=t("cli.download.dir"))
    d.add_argument("--allow-pickle", action="store_true", help=t("cli.download.allow_pickle"))
    d.add_argument("--force", action="store_true", help=t("cli.download.force"))
    p.set_defaults(download_parser=d)

    q = sub.add_parser("queue", help=t("cli.queue.help"))
    q.add_argument("--run", action="store_true", help=t("cli.queue.run"))
    q.add_argument("--json", action="store_true", help=t("cli.json"))

    ls = sub.add_parser("lists", help=t("cli.lists.help"), description=t("cli.lists.description"))
    ls.add_argument("words", nargs="*", metavar="NAME | export NAME | import FILE")
    ls.add_argument("-o", "--output", metavar="FILE", help=t("cli.lists.output"))
    ls.add_argument("--force", action="store_true", help=t("cli.lists.force"))
    ls.add_argument("--name", help=t("cli.lists.name"))
    ls.add_argument("--offline", action="store_true", help=t("cli.lists.offline"))
    ls.add_argument("--json", action="store_true", help=t("cli.json"))

    sy = sub.add_parser("sync", help=t("cli.sync.help"), description=t("cli.sync.description"))
    sy.add_argument("target", metavar="NAME|FILE", help=t("cli.sync.target"))
    sy.add_argument("--allow-pickle", action="store_true", help=t("cli.download.allow_pickle"))
    sy.add_argument("--force", action="store_true", help=t("cli.download.force"))
    du = sub.add_parser("du", help=t("cli.du.help"))
    du.add_argument("--by", choices=("source", "base", "type"), help=t("cli.du.by"))
    du.add_argument("--json", action="store_true", help=t("cli.du.json"))
    sc = sub.add_parser("scan", help=t("cli.scan.help"))
    sc.add_argument("--offline", action="store_true", help=t("cli.scan.offline"))
    sc.add_argument("--json", action="store_true", help=t("cli.json"))

    c = sub.add_parser("config", help=t("cli.config.help"))
    csub = c.add_subparsers(dest="config_command", metavar="ACTION", parser_class=_Parser)
    g = csub.add_parser("get", help=t("cli.config.get"))
    g.add_argument("key")
    st = csub.add_parser("set", help=t("cli.config.set"))
    st.add_argument("key")
    st.add_argument("value")
    un = csub.add_parser("unset", help=t("cli.config.unset"))
    un.add_argument("key")
    csub.add_parser("path", help=t("cli.config.path"))
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the documented exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list in (["--version"], ["-V"]):  # the fast path: no other import
        print(f"modella {__version__}")
        return 0
    from modella_tui.core import config, i18n
    from modella_tui.core.errors import ModellaError

    settings = config.load()
    i18n.set_language(i18n.resolve_language(settings.get("language")))
    from modella_tui.core.textsafe import clean

    for warning in settings.warnings:
        sys.stderr.write(clean(warning) + "\n")
    parser = build_parser()
    if args_list[:1] == ["download"]:
        # `download A --file X B`: options may sit between REFs (argparse's top level can't do that).
        args = parser.get_default("download_parser").parse_intermixed_args(args_list[1:])
        args.command = "download"
    else:
        args = parser.parse_args(args_list)
    if args.command != "serve":  # the server logs to its terminal; each tab's app does this
        from modella_tui.core.applog import install_log_file

        install_log_file(settings.secret_values)
    try:
        return _dispatch(args, settings)
    except ModellaError as exc:
        sys.stderr.write(clean(exc.message) + "\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write(i18n.t("cli.interrupted") + "\n")
        return 130
    except BrokenPipeError:
        # `modella search … | head`: the reader went away, which is not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception:  # the last funnel: a sentence for the user, the details in the log
        from modella_tui.cli.common import log_exception

        where = log_exception(settings)
        sys.stderr.write(i18n.t("cli.unexpected", log=str(where)) + "\n")
        return 1


def _dispatch(args: argparse.Namespace, settings: Any) -> int:
    cmd = args.command
    if cmd is None:
        from modella_tui.ui.app import run_app

        run_app(settings)
        return 0
    if cmd == "serve":
        from modella_tui.serve import run_serve

        return run_serve(settings, args.host, args.port, args.public_url, args.token)
    if cmd == "config":
        from modella_tui.cli.config_cmd import run_config

        return run_config(args, settings)
    if cmd == "search":
        from modella_tui.cli.search import run_search

        return run_search(args, settings)
    if cmd == "show":
        from modella_tui.cli.show import run_show

        return run_show(args, settings)
    if cmd == "lists":
        from modella_tui.cli.lists_cmd import run_lists

        return run_lists(args, settings)
    if cmd == "sync":
        from modella_tui.cli.sync import run_sync

        return run_sync(args, settings)
    if cmd == "du":
        from modella_tui.cli.du import run_du

        return run_du(args, settings)
    if cmd == "scan":
        from modella_tui.cli.scan import run_scan

        return run_scan(args, settings)
    if cmd in ("download", "queue"):
        from modella_tui.cli.download import run_download, run_queue

        return run_download(args, settings) if cmd == "download" else run_queue(args, settings)
    raise AssertionError(cmd)
