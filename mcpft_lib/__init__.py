"""mcpft: fine-tune open code LLMs to make correct MCP tool calls, and prove it.

Importing the package is cheap: heavy libraries (torch, transformers) load inside the stage modules.
"""

__version__ = "0.1.0"
