"""The MCP side: server catalogs, the call dialects (render and parse), the live sandbox servers and the
fictional world (names, tables, records) that the generator and the sandbox share."""
