"""Export: merge the adapter, write every format and check it loads back; the registry of exported models."""
