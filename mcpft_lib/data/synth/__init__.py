"""Schema-driven data for any MCP server, zero code per tool (see `builder` and `run`)."""

from mcpft_lib.data.synth.builder import DEFAULT_MIX, SYNTH_CATEGORIES, Options, Synthesizer
from mcpft_lib.data.synth.run import generate_from_catalogs, read_catalog_file, synthesize, write_dataset

__all__ = ["DEFAULT_MIX", "SYNTH_CATEGORIES", "Options", "Synthesizer", "generate_from_catalogs",
           "read_catalog_file", "synthesize", "write_dataset"]  # fmt: skip
