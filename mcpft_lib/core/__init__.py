"""Bottom layer: the data model, file IO, secrets, system facts and progress bars. Imports nothing else of
mcpft_lib."""
