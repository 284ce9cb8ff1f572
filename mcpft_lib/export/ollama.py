"""Ollama Modelfiles for GGUF exports: the chat template of training as an Ollama (Go text/template) TEMPLATE,
its stop token and greedy decoding, so that `ollama create NAME -f Modelfile` runs the model as it was trained.

The template reproduces `modeling.loaders.CHAT_TEMPLATES[family]` for conversations of system, user and
assistant text (the xml dialect: Cline/Roo clients list the MCP servers in the system prompt and read
`<use_mcp_tool>` blocks from the reply): a test renders it with Go's text/template (Ollama's engine) and
compares the text with the tokenizer's chat template, turn by turn. Not covered: Ollama's `tools` API
(native-dialect function calling), and whitespace trimming of message contents (Go templates have no trim:
send contents without leading or trailing whitespace, as clients do). The BOS token is not in the template:
llama.cpp adds it when it tokenizes (the GGUF says so).
"""

from __future__ import annotations

from pathlib import Path

MODELFILE = "Modelfile"

# Gemma 3 turns as `CHAT_TEMPLATES["gemma"]` renders them without tools: the system message opens the first
# user turn (followed by a blank line), every turn closes with <end_of_turn>; a last assistant message is
# continued (no closing tag), otherwise the model's turn is opened. (`{{-` trims the text before it: never
# after a newline the prompt needs.)
_GEMMA = (
    '{{- $sys := "" }}{{- $rest := .Messages }}'
    '{{- if and .Messages (eq (index .Messages 0).Role "system") }}'
    "{{- $sys = (index .Messages 0).Content }}{{- $rest = slice .Messages 1 }}{{- end }}"
    "{{- range $i, $m := $rest }}"
    "{{- $last := eq (len (slice $rest $i)) 1 }}"
    '{{- if eq $m.Role "assistant" }}<start_of_turn>model\n{{ $m.Content }}'
    "{{- if not $last }}<end_of_turn>\n{{ end }}"
    "{{- else }}<start_of_turn>user\n"
    "{{ if and (eq $i 0) $sys }}{{ $sys }}\n\n{{ end }}{{ $m.Content }}<end_of_turn>\n"
    "{{ if $last }}<start_of_turn>model\n{{ end }}"
    "{{- end }}{{- end }}"
)

TEMPLATES = {"gemma": (_GEMMA, ["<end_of_turn>"])}


class ModelfileUnsupported(ValueError):
    """No Ollama template is written for this chat-template family."""


def template(family: str) -> tuple[str, list[str]]:
    """The Go TEMPLATE and the stop strings of a chat-template family."""
    if family not in TEMPLATES:
        raise ModelfileUnsupported(
            f"no Ollama template for chat template {family!r} (written for: {', '.join(TEMPLATES)})"
        )
    return TEMPLATES[family]


def modelfile(gguf_name: str, family: str, num_ctx: int = 4096, license_name: str | None = None) -> str:
    """The Modelfile text for the GGUF file `gguf_name` in the same folder."""
    tmpl, stops = template(family)
    lines = [
        "# Ollama: ollama create NAME -f Modelfile && ollama run NAME  (written by mcpft)",
        "# MCP servers and their tools go in the system prompt, as training showed them (Cline/Roo do this);",
        "# replies call a tool with one <use_mcp_tool> block. Ollama's `tools` API is not mapped.",
        f"FROM ./{gguf_name}",
        f'TEMPLATE """{tmpl}"""',
        *[f'PARAMETER stop "{s}"' for s in stops],
        "PARAMETER temperature 0",
        f"PARAMETER num_ctx {int(num_ctx)}",
    ]
    if license_name:
        lines.append(f'LICENSE """{license_name}"""')
    return "\n".join(lines) + "\n"


def write_modelfile(folder: str | Path, family: str, num_ctx: int = 4096) -> Path | None:
    """Write `Modelfile` beside the folder's one .gguf file; None (nothing written) for a family without an
    Ollama template."""
    folder = Path(folder)
    (gguf,) = sorted(folder.glob("*.gguf"))
    try:
        text = modelfile(gguf.name, family, num_ctx)
    except ModelfileUnsupported:
        return None
    path = folder / MODELFILE
    path.write_text(text)
    return path
