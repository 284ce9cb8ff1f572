"""MCP servers the project ships for live evaluation: each runs over stdio with the mcp SDK's MCPServer.

- `sandbox_fs`: the filesystem catalog's tools, confined to one temporary directory.
- `faulty`: a test server whose tools echo, hang or crash (for the live harness's failure paths).
"""
