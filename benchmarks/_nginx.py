"""A private nginx on 127.0.0.1 for the download benchmarks: its own config, pid and temp paths."""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
PR_SET_PDEATHSIG = 1

CONFIG = """\
# Written by benchmarks/_nginx.py for one benchmark run; safe to delete.
daemon off;
master_process on;
worker_processes 1;
{user_line}
pid {pid};
error_log {error_log} warn;

events {{
    worker_connections 256;
}}

http {{
    default_type application/octet-stream;
    # The preview every benchmark model points at must arrive as an image, as a CDN sends it:
    # Modella writes a `.preview.png` only for an image type.
    types {{
        image/png png;
    }}
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 30s;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;

    # Unlimited: loopback speed, the "curl -o of 1 GiB" reference.
    server {{
        listen 127.0.0.1:{fast_port};
        root {root};
    }}

    # Each connection capped (Range requests included): multi-connection downloads win here.
    server {{
        listen 127.0.0.1:{slow_port};
        root {root};
        limit_rate {limit_rate};
    }}
}}
"""


@dataclass(frozen=True)
class Nginx:
    """Where the running nginx answers."""

    fast_port: int
    slow_port: int

    def fast_url(self, name: str) -> str:
        """URL of `name` on the unlimited server."""
        return f"http://127.0.0.1:{self.fast_port}/{name}"

    def slow_url(self, name: str) -> str:
        """URL of `name` on the server that caps each connection."""
        return f"http://127.0.0.1:{self.slow_port}/{name}"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_listening(port: int, proc: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"nginx exited with code {proc.returncode} while starting")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nginx did not listen on port {port} within {START_TIMEOUT_S} s")


def _die_with_parent() -> None:
    # Runs in the child before exec: if the benchmark is killed outright (SIGKILL, a timeout), the
    # kernel sends nginx SIGTERM instead of leaving it serving on a forgotten port.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _stop_stale(pid_file: Path, conf: Path) -> None:
    """Stop an nginx left over by an earlier run of this work folder (only if it is ours)."""
    try:
        pid = int(pid_file.read_text(encoding="ascii").strip())
        # nginx rewrites its title ("nginx: master process … -c <conf> …"): match a substring.
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return
    if str(conf).encode() in cmdline:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)  # fast shutdown; workers exit with the master
    try:
        proc.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=STOP_TIMEOUT_S)


@contextlib.contextmanager
def serve(root: Path, work: Path, limit_rate: str = "25m") -> Iterator[Nginx]:
    """Run nginx in the foreground serving `root`; it is stopped on leaving, errors included."""
    binary = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    if binary is None:
        raise RuntimeError("nginx is not installed: run `bash benchmarks/run.sh downloads`")
    prefix = work / "nginx"
    tmp = prefix / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    error_log = prefix / "error.log"
    _stop_stale(prefix / "nginx.pid", prefix / "nginx.conf")
    last_error: Exception | None = None
    # A port found free can be taken before nginx binds it: try a few pairs.
    for _attempt in range(3):
        nginx = Nginx(free_port(), free_port())
        if nginx.fast_port == nginx.slow_port:
            continue
        conf = prefix / "nginx.conf"
        conf.write_text(
            CONFIG.format(
                # As root nginx drops its workers to "nobody", who may not read the work folder.
                user_line="user root;" if os.geteuid() == 0 else "",
                pid=prefix / "nginx.pid",
                error_log=error_log,
                tmp=tmp,
                root=root.resolve(),
                fast_port=nginx.fast_port,
                slow_port=nginx.slow_port,
                limit_rate=limit_rate,
            ),
            encoding="utf-8",
        )
        # -e: without it nginx opens the system error log before reading our config.
        cmd = [binary, "-p", str(prefix), "-c", str(conf), "-e", str(error_log)]
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=_die_with_parent
        )
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            _wait_listening(nginx.fast_port, proc, deadline)
            _wait_listening(nginx.slow_port, proc, deadline)
        except RuntimeError as exc:
            _stop(proc)
            last_error = exc
            continue
        try:
            yield nginx
        finally:
            _stop(proc)
        return
    log = error_log.read_text(encoding="utf-8", errors="replace") if error_log.exists() else ""
    raise RuntimeError(f"could not start nginx: {last_error}\n{log[-2000:]}")
