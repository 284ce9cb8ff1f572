"""Bottom layer: the data model, file IO, secrets and system facts. Imports nothing else of mcpft_lib."""
