"""`mcpft serve`: an OpenAI-compatible chat-completions endpoint with tool calling for a run's fine-tuned model or
the profile's base model. The request's tools become MCP servers rendered in the dialect the model was trained
on; its reply is parsed back into standard `tool_calls` (docs/export.md, "Serve your model")."""
