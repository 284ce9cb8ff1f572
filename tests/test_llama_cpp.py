"""The llama.cpp backend (`modeling.llama_cpp`, `eval.backend: llama_cpp`, `mcpft serve --backend llama_cpp`) on
the real default model: Gemma 3 270M's Q4_K_M GGUF from its PyPI package, decoded by llama.cpp against the same
model dequantised into transformers."""

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openai
import pytest

from mcpft_lib.config import load_params
from mcpft_lib.evaluation import generation, perf
from mcpft_lib.export import formats
from mcpft_lib.modeling import llama_cpp, loaders

ROOT = Path(__file__).resolve().parent.parent
STOPS = ["</use_mcp_tool>", "</access_mcp_resource>", "<end_of_turn>"]


@pytest.fixture(scope="module")
def params():
    return load_params(ROOT / "params/default.yaml")


@pytest.fixture(scope="module")
def chats(params):
    return [it["chat"] for it in perf.test_items(params, 8)]


@pytest.fixture(scope="module")
def tok(params):
    return loaders.load_tokenizer(params.model)


@pytest.fixture(scope="module")
def lmodel(params):
    m = llama_cpp.LlamaCppModel(formats.gguf_for(params.model), n_slots=4, n_ctx=8192)
    yield m
    m.close()


def test_without_llama_cpp_python_the_eval_backend_is_an_error_that_says_how_to_install(params, monkeypatch):
    q = params.model_copy(update={"eval": params.eval.model_copy(update={"backend": "llama_cpp"})})
    monkeypatch.setattr(llama_cpp, "available", lambda: False)
    with pytest.raises(llama_cpp.LlamaCppUnavailable, match=r"eval.backend is llama_cpp.*\.\[llama\]"):
        generation.check_backend(q)
    generation.check_backend(params)  # transformers needs nothing more


def test_a_merged_export_is_decoded_from_the_gguf_export_beside_it(tmp_path, params, monkeypatch):
    merged = tmp_path / "export" / "merged-bfloat16"
    merged.mkdir(parents=True)
    for fmt in ("gguf_q8_0", "gguf_f16"):
        (tmp_path / "export" / fmt).mkdir()
        (tmp_path / "export" / fmt / f"model-{fmt[5:]}.gguf").write_bytes(b"GGUF")
    mp = params.model.model_copy(update={"source": "local", "id": str(merged)})
    monkeypatch.setattr(formats, "is_complete", lambda p: Path(p).name == "gguf_q8_0")
    assert formats.gguf_for(mp) == tmp_path / "export" / "gguf_q8_0" / "model-q8_0.gguf"  # f16 unfinished
    monkeypatch.setattr(formats, "is_complete", lambda p: True)
    assert formats.gguf_for(mp).name == "model-f16.gguf"  # f16 first: closest to the merged weights
    with pytest.raises(formats.ExportError, match="needs a GGUF"):
        formats.gguf_for(params.model.model_copy(update={"source": "hub", "id": "org/name"}))


@pytest.mark.slow
def test_the_gguf_vocabulary_is_the_tokenizers(lmodel, tok, chats):
    texts = [generation.prompt_text(tok, c) for c in chats]
    assert llama_cpp.same_vocabulary(lmodel, tok, texts) == []
    assert (
        lmodel.tokenize("<start_of_turn>user\nhi")
        == tok("<start_of_turn>user\nhi", add_special_tokens=False)["input_ids"]
    )


@pytest.mark.slow
def test_batched_rows_with_a_shared_prefix_decode_as_each_prompt_alone(lmodel, tok, chats):
    """Continuous batching over 4 slots with system prompts evaluated once gives, token for token, what each
    prompt decoded alone from scratch gives."""
    together, st = generation.generate_ids(lmodel, tok, chats, 48, 4, STOPS)
    alone = [generation.generate_ids(lmodel, tok, [c], 48, 1, STOPS, reuse_prefix=False)[0][0] for c in chats]
    assert together == alone
    assert st["backend"] == "llama_cpp" and st["reused_tokens"] > 0 and st["prefix_tokens"] > 0
    assert st["root_tokens"] > 0  # the xml preamble every prompt starts with, evaluated once
    assert st["new_tokens"] == sum(map(len, together)) and all(1 <= len(g) <= 48 for g in together)


@pytest.mark.slow
def test_a_reply_ends_at_a_closing_call_tag_and_keeps_it(lmodel, tok, chats):
    texts, _ = generation.generate(lmodel, tok, chats, 96, 4, STOPS)
    closed = [t for t in texts if "</use_mcp_tool>" in t]
    assert closed, texts  # the base model copies the system prompt's example call
    assert all(t.endswith("</use_mcp_tool>") and t.count("</use_mcp_tool>") == 1 for t in closed)


@pytest.mark.slow
def test_greedy_outputs_agree_with_transformers_on_the_same_model(lmodel, tok, chats, params):
    """The Q4_K_M GGUF in llama.cpp against the same weights dequantised, in transformers float32: the same
    prompts (ids), the same stop rules. Quantised activations round differently, so a near tie can flip."""
    model, _ = loaders.load_model(params.model, dtype="float32")
    ref, _ = generation.generate_ids(model, tok, chats, 48, 4, STOPS)
    got, _ = generation.generate_ids(lmodel, tok, chats, 48, 4, STOPS)
    assert sum(a == b for a, b in zip(ref, got, strict=True)) >= 6, [tok.decode(g) for g in got]


@pytest.mark.slow
def test_a_prompt_that_cannot_fit_the_context_is_an_error_naming_it(params, tok, chats):
    small = llama_cpp.LlamaCppModel(formats.gguf_for(params.model), n_slots=2, n_ctx=256)
    try:
        with pytest.raises(ValueError, match=r"prompt 0: \d+ tokens \+ 8 new do not fit .* 256"):
            generation.generate_ids(small, tok, chats[:2], 8, 2, STOPS)
        out, _ = generation.generate_ids(small, tok, [[{"role": "user", "content": "Hi"}]] * 3, 8, 2, [])
        assert len(out) == 3 and out[0] == out[1] == out[2]  # rows wait for free cells instead of failing
    finally:
        small.close()


@pytest.mark.slow
def test_llama_cpp_serves_the_openai_api_with_the_evaluations_greedy_reply(params, tok):
    from mcpft_lib.serve.app import ServerThread, create_app
    from mcpft_lib.serve.backends import load_backend

    served = load_backend(params, None, "llama_cpp", 4)
    assert served.backend.name == "llama_cpp" and served.description.endswith(".gguf")
    app = create_app(served, default_max_tokens=24)
    msgs = [{"role": "user", "content": "What time is it in Tokyo?"}]
    tools = [{"type": "function", "function": {"name": "time__get_current_time", "description": "Current time",
              "parameters": {"type": "object", "properties": {"timezone": {"type": "string"}},
                             "required": ["timezone"]}}}]  # fmt: skip
    with ServerThread(app) as srv:
        client = openai.OpenAI(base_url=f"{srv.url}/v1", api_key="unused", max_retries=0)
        r = client.chat.completions.create(model="base", messages=msgs, tools=tools, max_tokens=24)

        def ask(i):
            c = openai.OpenAI(base_url=f"{srv.url}/v1", api_key="unused", max_retries=0)
            return c.chat.completions.create(model="base", messages=msgs, tools=tools, max_tokens=24)

        with ThreadPoolExecutor(8) as pool:
            many = list(pool.map(ask, range(8)))
        forced = client.chat.completions.create(
            model="base", messages=msgs, tools=tools, max_tokens=48,
            tool_choice={"type": "function", "function": {"name": "time__get_current_time"}},
        )  # fmt: skip
        sampled = [
            client.chat.completions.create(
                model="base", messages=msgs, max_tokens=12, temperature=1.0, seed=s
            )
            for s in (1, 1, 2)
        ]
    text = lambda m: (m.choices[0].message.content, m.choices[0].message.tool_calls)  # noqa: E731
    assert all(text(m) == text(r) for m in many)  # greedy: 8 concurrent clients, the same reply
    assert sum(app.state.batcher.batch_sizes) == 13 and max(app.state.batcher.batch_sizes) > 1
    tc = forced.choices[0].message.tool_calls
    assert forced.choices[0].finish_reason == "tool_calls" and tc[0].function.name == "time__get_current_time"
    assert isinstance(json.loads(tc[0].function.arguments), dict)
    s1, s1b, s2 = (m.choices[0].message.content for m in sampled)
    assert s1 == s1b and s1 != s2  # seeded sampling is reproducible and depends on the seed


@pytest.mark.slow
def test_bench_perf_compares_the_backends_with_the_ratio_last(capsys):
    from mcpft_lib.cli import main

    args = ["bench", "perf", str(ROOT / "params/default.yaml"), "--items", "2", "--new-tokens", "2"]
    assert main([*args, "--backends", "transformers,vllm"]) == 2  # before any model loads
    assert "--backends: unknown ['vllm']" in capsys.readouterr().err
    assert main([*args, "--backends", "transformers,llama_cpp", "--set", "eval.max_new_tokens=12"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    rows = [line for line in lines if line.startswith(("transformers ", "llama_cpp "))]
    assert len(rows) == 2 and all(("prefill" in r and "decode" in r and "aggregate" in r) for r in rows)
    assert "gemma-3-270m-q4_k_m.gguf" in rows[1]
    assert any(line.startswith("greedy outputs of llama_cpp identical to transformers: ") for line in lines)
    assert lines[-1].startswith("aggregate ratio (llama_cpp / transformers, batch 8): ")
