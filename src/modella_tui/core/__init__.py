"""The product without a screen: never imports Textual or Rich."""

import sys

# httpx's __init__ imports its command-line tool, which pulls in rich and pygments; the core must
# stay free of rich (and start fast). A None entry makes that optional import fail quietly.
if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
