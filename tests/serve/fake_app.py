"""Speaks textual-serve's process protocol without Textual: reports its pid and environment, then
waits for the `quit` meta packet (or the end of stdin) and exits."""

from __future__ import annotations

import json
import os
import sys


def main() -> None:
    """Send one data packet describing this process, then follow stdin until told to quit."""
    out = sys.stdout.buffer
    report = {
        "pid": os.getpid(),
        "has_token_env": "MODELLA_SERVE_TOKEN" in os.environ,
        "env_values": sorted(os.environ.values()),
    }
    payload = json.dumps(report).encode()
    out.write(b"__GANGLION__\n" + b"D" + len(payload).to_bytes(4, "big") + payload)
    out.flush()
    stdin = sys.stdin.buffer
    while True:
        head = stdin.read(5)
        if len(head) < 5:
            return
        body = stdin.read(int.from_bytes(head[1:5], "big"))
        if head[:1] == b"M" and json.loads(body).get("type") == "quit":
            return


if __name__ == "__main__":
    main()
