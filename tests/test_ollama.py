"""Ollama Modelfiles (`export.ollama`): the TEMPLATE is rendered by Go's text/template — the engine Ollama runs it
with — and must give, for real training conversations of the xml dialect, the text the tokenizer's chat
template gives (what the model was trained on), at every assistant turn and for a continued reply."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from mcpft_lib.config import load_params
from mcpft_lib.data import generate
from mcpft_lib.evaluation.generation import prompt_text
from mcpft_lib.export import ollama
from mcpft_lib.mcp import catalogs, dialects
from mcpft_lib.modeling import loaders

ROOT = Path(__file__).resolve().parent.parent

GO_RENDER = r"""
package main

import (
	"encoding/json"
	"os"
	"text/template"
)

type Message struct {
	Role    string
	Content string
}

func main() {
	src, _ := os.ReadFile(os.Args[1])
	var chats [][]Message
	if err := json.NewDecoder(os.Stdin).Decode(&chats); err != nil {
		panic(err)
	}
	t := template.Must(template.New("m").Parse(string(src)))
	out := []string{}
	for _, c := range chats {
		var b []byte
		w := &buf{&b}
		if err := t.Execute(w, map[string]any{"Messages": c}); err != nil {
			panic(err)
		}
		out = append(out, string(b))
	}
	json.NewEncoder(os.Stdout).Encode(out)
}

type buf struct{ b *[]byte }

func (w *buf) Write(p []byte) (int, error) { *w.b = append(*w.b, p...); return len(p), nil }
"""


def test_the_modelfile_names_its_gguf_stop_and_greedy_decoding(tmp_path):
    (tmp_path / "model-q4_k_m.gguf").write_bytes(b"GGUF")
    path = ollama.write_modelfile(tmp_path, "gemma", num_ctx=2048)
    text = path.read_text()
    assert path.name == "Modelfile" and "FROM ./model-q4_k_m.gguf\n" in text
    assert 'PARAMETER stop "<end_of_turn>"' in text and "PARAMETER temperature 0" in text
    assert "PARAMETER num_ctx 2048" in text and 'TEMPLATE """{{- $sys' in text
    assert ollama.write_modelfile(tmp_path, "mistral") is None  # no template for it: nothing written
    with pytest.raises(ollama.ModelfileUnsupported, match="'llama'"):
        ollama.template("llama")


def _go() -> str | None:
    go = shutil.which("go")
    if go is None and os.environ.get("CI"):
        pytest.fail("Go is needed to render Ollama templates (.ci/run installs Debian's golang-go)")
    if go is None:
        pytest.skip("no Go toolchain (apt-get install golang-go)")
    return go


@pytest.mark.slow
def test_the_template_renders_training_conversations_as_the_chat_template_does(tmp_path):
    go = _go()
    p = load_params(ROOT / "params/default.yaml")
    tok = loaders.load_tokenizer(p.model)
    servers = catalogs.load_catalogs(["time", "git", "sqlite"])
    examples = generate.generate(12, 3, servers, ["single_call", "multi_step", "clarification", "no_tool"], 2)
    chats = []
    for ex in examples:
        chat = dialects.to_chat(ex, "xml", True)
        chat = [{"role": m["role"], "content": m["content"].strip()} for m in chat]
        for k, m in enumerate(chat):
            if m["role"] == "assistant":
                chats.append(chat[:k])  # the prompt of each assistant turn
        chats.append(chat)  # the whole conversation: its last reply continued
    chats.append([{"role": "user", "content": "Hi"}])  # no system prompt
    assert len(chats) > 30 and any(c[-1]["role"] == "assistant" for c in chats)
    expected = [prompt_text(tok, c).removeprefix(tok.bos_token) for c in chats]
    tmpl, _ = ollama.template("gemma")
    (tmp_path / "t.tmpl").write_text(tmpl)
    (tmp_path / "render.go").write_text(GO_RENDER)
    msgs = [[{"Role": m["role"], "Content": m["content"]} for m in c] for c in chats]
    env = {**os.environ, "GOCACHE": str(tmp_path / "gocache"), "GOPATH": str(tmp_path / "gopath"),
           "GO111MODULE": "off"}  # fmt: skip
    out = subprocess.run([go, "run", str(tmp_path / "render.go"), str(tmp_path / "t.tmpl")], input=json.dumps(msgs),
                         capture_output=True, text=True, env=env, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    bad = [(i, e, g) for i, (e, g) in enumerate(zip(expected, got, strict=True)) if e != g]
    assert bad == [], bad[:1]
