"""BFCL v4 (the Berkeley Function Calling Leaderboard) as a public yardstick: its data read from the pinned
`bfcl-eval` wheel (never installed: it pins old numpy and every provider SDK), its functions converted to MCP
tools, and its AST checker's rules re-implemented and tested against the official checker."""
