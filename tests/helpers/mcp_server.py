"""A small MCP server with a ``search`` tool over a fixed corpus (stdio or streamable HTTP).

Run as ``python -m tests.helpers.mcp_server`` (stdio) or with ``--http PORT``. It uses the
``mcp`` SDK's MCPServer (the SDK's high-level server, called FastMCP before mcp 2).
"""

from __future__ import annotations

import os
import sys
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer

CORPUS = {
    "woz-1": "De WOZ-waarde is de waarde van een woning volgens de gemeente.",
    "bag-1": "De BAG bevat alle adressen en gebouwen in Nederland.",
    "brk-1": "De BRK registreert eigendom van percelen bij het Kadaster.",
    "bgt-1": "De BGT is een digitale kaart van de openbare ruimte.",
}

server = MCPServer("ragwacht-test-search")


@server.tool()
def search(query: str, top_k: int = 3) -> list[dict[str, Any]]:
    """Rank passages by how many query words they contain."""
    words = {w.strip("?.,").lower() for w in query.split()}
    scored = []
    for doc_id, text in CORPUS.items():
        hits = sum(1 for w in text.lower().replace("-", " ").split() if w.strip(".,") in words)
        scored.append((hits, doc_id, text))
    scored.sort(key=lambda t: (-t[0], t[1]))
    return [{"doc_id": d, "text": t, "score": float(h)} for h, d, t in scored[: max(0, top_k)]]


@server.tool()
async def slow(query: str, seconds: float = 5.0) -> str:
    """Answers after ``seconds`` (to test timeouts)."""
    await anyio.sleep(seconds)
    return "late"


@server.tool()
def explode(query: str) -> str:
    """Always fails (to test tool errors)."""
    raise ValueError(f"cannot handle {query!r}")


@server.tool()
def search_or_die(query: str) -> list[dict[str, Any]]:
    """Like ``search``, but the query "die" kills the server process (to test reconnects)."""
    if query == "die":
        os._exit(3)
    return search(query, 1)


if __name__ == "__main__":
    if os.environ.get("MCP_TEST_STARTS"):  # count starts, so a test sees reconnects
        with open(os.environ["MCP_TEST_STARTS"], "a") as fh:
            fh.write(f"{os.getpid()}\n")
    if len(sys.argv) == 3 and sys.argv[1] == "--http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run("stdio")
