"""A deliberately unreliable MCP server for testing the live harness: `echo` answers, `hang` blocks the
whole process (a hung server), `crash` exits the process mid-call (a crashed server), `fail` returns isError.

`python -m mcpft_lib.mcp.servers.faulty` serves over stdio.
"""

from __future__ import annotations

import os
import time


def build_server():
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    server = MCPServer("faulty")

    @server.tool(description="Return the text.")
    def echo(text: str) -> str:
        return text

    @server.tool(description="Block the server for `seconds` (synchronously: nothing else is served).")
    def hang(seconds: float = 3600) -> str:
        time.sleep(seconds)
        return "woke up"

    @server.tool(description="Exit the server process at once.")
    def crash(code: int = 3) -> str:
        os._exit(code)

    @server.tool(description="A tool execution error (isError).")
    def fail(message: str = "boom") -> str:
        raise ToolError(message)

    return server


if __name__ == "__main__":
    build_server().run("stdio")
