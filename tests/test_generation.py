"""Fast generation: token for token what `model.generate` gives per prompt, on a Llama and a Gemma-3
(sliding-window) tiny model; shared prefixes, left padding longer than the prefix, stop strings, EOS.

The tiny models get large random weights (std 0.3) so that greedy output changes with every input token:
a freshly initialised one writes the same token forever, which would hide a wrong cache or mask."""

import copy

import pytest

from mcpft_lib.config import load_params
from mcpft_lib.evaluation import generation
from mcpft_lib.modeling import loaders

SYS_A = "You are an agent. Tools: time get_current_time timezone convert_time. " * 6
SYS_B = "Server git with tools git_status git_log repo_path. " * 3
USERS = [
    "time in Berlin?",
    "what is the status of the repository at /tmp/x please, and then the log " * 4,
    "hi",
]
N = 10  # new tokens per prompt


def _chats():
    out = [
        [{"role": "system", "content": s}, {"role": "user", "content": u}]
        for s in (SYS_A, SYS_B)
        for u in USERS
    ]
    out.append([{"role": "user", "content": "no system prompt at all"}])
    out.append(  # a multi-turn chat under SYS_A: its suffix holds an earlier assistant turn
        [
            {"role": "system", "content": SYS_A},
            {"role": "user", "content": "time?"},
            {"role": "assistant", "content": "Which timezone?"},
            {"role": "user", "content": "Europe/Berlin"},
        ]
    )
    out.append(  # a short prefix under a suffix so long that another row's padding exceeds its prefix
        [
            {"role": "system", "content": SYS_B},
            {"role": "user", "content": "show the diff of /srv/app against main, file by file, " * 10},
        ]
    )
    return out


def _chaotic(model, seed=0, std=0.3):
    import torch

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for w in model.parameters():
            if w.dim() >= 2:
                w.normal_(0, std, generator=g)
    return model.eval()


@pytest.fixture(scope="module")
def tiny():
    p = load_params("params/smoke.yaml")
    model, tok = loaders.load_model(p.model)
    return _chaotic(model), tok


@pytest.fixture(scope="module")
def tiny_gemma(tiny):
    """A random Gemma-3 text model (sliding window 8, hybrid layers) on the tiny tokenizer."""
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    _, tok = tiny
    cfg = Gemma3TextConfig(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=3,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=16,
        sliding_window=8,
        layer_types=["sliding_attention", "full_attention", "sliding_attention"],
        max_position_embeddings=2048,
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
        bos_token_id=tok.bos_token_id,
        tie_word_embeddings=False,  # tied, its scaled embeddings make it repeat its input token
    )
    model = _chaotic(Gemma3ForCausalLM(cfg), seed=1)
    model.generation_config.pad_token_id = tok.pad_token_id
    return model, tok


@pytest.mark.slow
@pytest.mark.parametrize("which", ["tiny", "tiny_gemma"])
def test_identical_to_generate_per_example(which, request):
    model, tok = request.getfixturevalue(which)
    chats = _chats()
    ref = generation.reference_ids(model, tok, chats, N)
    # prompts get their own replies: the check has teeth (a sliding window of 8 can make two long prompts
    # that end alike answer alike)
    assert len({tuple(r) for r in ref}) >= 0.75 * len(ref)
    fast, stats = generation.generate_ids(model, tok, chats, N, batch_size=3)
    assert fast == ref
    assert stats["groups"] == 3  # SYS_A, SYS_B, no system prompt
    ids = generation.encode(tok, chats)
    assert stats["prefix_tokens"] > 0 and stats["reused_tokens"] > 0
    ps = {i: p for p, idx in generation.group_by_prefix(chats, ids) for i in idx}
    order = sorted(ps, key=lambda i: -(len(ids[i]) - ps[i]))  # how generate_ids batches them
    batches = [order[b : b + 3] for b in range(0, len(order), 3)]
    width = [max(len(ids[i]) - ps[i] for i in b) for b in batches]
    assert any(  # a row padded by more than its prefix: the whole prefix is fed again, then padding
        0 < ps[i] < w - (len(ids[i]) - ps[i]) for b, w in zip(batches, width, strict=True) for i in b
    )
    if which == "tiny_gemma":
        assert max(len(i) for i in ids) > 4 * model.config.sliding_window  # windows slide over prefix and pad
    plain, _ = generation.generate_ids(model, tok, chats, N, batch_size=4, reuse_prefix=False)
    assert plain == ref


@pytest.mark.slow
@pytest.mark.parametrize("which", ["tiny", "tiny_gemma"])
def test_stopped_rows_make_room_for_new_prompts(which, request):
    """Continuous batching: rows stop at different steps and new prompts, prefilled on their own, join the
    running batch (the narrower side left-padded, sliding-window layers included); still token for token."""
    from collections import Counter

    model, tok = request.getfixturevalue(which)
    chats = _chats() + [
        [{"role": "system", "content": SYS_B}, {"role": "user", "content": f"log of repo {k} " * k}]
        for k in (1, 5, 9)
    ]
    free = generation.reference_ids(model, tok, chats, 2 * N)
    # the token most replies write (not first): made EOS, replies stop at different steps
    counts = Counter(t for g in free for t in set(g[1:]))
    eos = max(counts, key=lambda t: (counts[t], -t))
    saved = model.generation_config.eos_token_id
    model.generation_config.eos_token_id = eos
    try:
        ref = generation.reference_ids(model, tok, chats, 2 * N)
        fast, stats = generation.generate_ids(model, tok, chats, 2 * N, batch_size=3)
    finally:
        model.generation_config.eos_token_id = saved
    assert len({len(r) for r in ref}) >= 3  # rows really stop at different steps
    assert stats["refills"] >= 2
    assert fast == ref


@pytest.mark.slow
def test_a_wrong_cache_layout_is_caught(tiny, monkeypatch):
    """Negative control: the whole prefix left in every row's cache (its tail fed twice) changes outputs."""
    model, tok = tiny
    chats = _chats()[:3]
    ref = generation.reference_ids(model, tok, chats, N)
    real = generation._batch_cache
    monkeypatch.setattr(
        generation, "_batch_cache", lambda core, kvs, keep, c: real(core, kvs, [c] * len(keep), c)
    )
    bad, _ = generation.generate_ids(model, tok, chats, N, batch_size=3)
    assert bad != ref


@pytest.mark.slow
def test_stops_like_generate(tiny):
    """Stop strings taken from what the model writes (one starting in the prompt's last newline) and EOS."""
    model, tok = tiny
    chats = _chats()[:4]
    free = generation.reference_ids(model, tok, chats, N)
    i, j, mid = next(  # plain text two tokens long from one reply (stop strings are text, like call tags)
        (i, j, t)
        for i, g in enumerate(free)
        for j in range(2, N - 2)
        if (t := tok.decode(g[j : j + 2], skip_special_tokens=False)).isascii()
        and t.strip()
        and t.isprintable()
    )
    k = next(k for k in range(len(free)) if k != i and tok.decode(free[k][:1]).isascii())
    edge = (
        "\n" + tok.decode(free[k][:1], skip_special_tokens=False)[:1]
    )  # begins in the prompt's last newline
    stop = [mid, edge]
    ref = generation.reference_ids(model, tok, chats, N, stop)
    fast, _ = generation.generate_ids(model, tok, chats, N, batch_size=4, stop=stop)
    assert fast == ref
    assert len(ref[i]) <= j + 2 < N and len(ref[k]) == 1  # both stopped early
    eos = free[2][2]  # make a token the model writes its EOS: both paths stop on it
    saved = model.generation_config.eos_token_id
    model.generation_config.eos_token_id = eos
    try:
        ref = generation.reference_ids(model, tok, chats, N)
        fast, _ = generation.generate_ids(model, tok, chats, N, batch_size=2)
    finally:
        model.generation_config.eos_token_id = saved
    assert fast == ref and ref[2] == free[2][: free[2].index(eos) + 1]


@pytest.mark.slow
def test_texts_are_cut_like_evaluate(tiny):
    model, tok = tiny
    chats = _chats()[:3]
    free = generation.reference_ids(model, tok, chats, N)
    mid = next(  # plain text two tokens long (a stop string is text, like a call tag), not at the start
        t
        for i, g in enumerate(free)
        for j in range(2, N - 2)
        if (t := tok.decode(g[j : j + 2], skip_special_tokens=False)).isascii()
        and t.strip()
        and t.isprintable()
    )
    stop = ["</use_mcp_tool>", mid]
    texts, stats = generation.generate(model, tok, chats, N, 2, stop)
    ref = generation.reference_ids(model, tok, chats, N, stop)
    assert texts == [generation.cut_at_stop(tok.decode(r, skip_special_tokens=False), stop, tok) for r in ref]
    assert stats["new_tokens"] == sum(len(r) for r in ref) and stats["tokens_per_s"] > 0
    assert generation.generate(model, tok, chats, N, 2, stop)[0] == texts  # evaluation decodes through it


@pytest.mark.slow
def test_unmerged_peft_adapter(tiny):
    """Unmerged LoRA with non-zero B changes outputs, and the fast path still matches generate."""
    import torch
    from peft import LoraConfig, get_peft_model

    model, tok = tiny
    peft_model = get_peft_model(copy.deepcopy(model), LoraConfig(r=4, target_modules=["q_proj", "v_proj"]))
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for n, w in peft_model.named_parameters():
            if "lora_B" in n:
                w.normal_(0, 0.5, generator=g)
    peft_model.eval()
    chats = _chats()[:3]
    ref = generation.reference_ids(peft_model, tok, chats, N)
    fast, _ = generation.generate_ids(peft_model, tok, chats, N, batch_size=3)
    assert fast == ref
    assert ref != generation.reference_ids(model, tok, chats, N)


def test_groups_and_prefix():
    assert generation.common_prefix_len([[1, 2, 3], [1, 2, 4], [1, 2]]) == 2
    assert generation.common_prefix_len([[5]]) == 1
    assert generation.common_prefix_len([]) == 0
    chats = [[{"role": "system", "content": "S"}, {"role": "user", "content": u}] for u in "ab"]
    chats.append([{"role": "user", "content": "c"}])
    groups = generation.group_by_prefix(chats, [[1, 2, 3], [1, 2, 3], [9, 8]])
    assert sorted(groups, key=lambda g: g[1]) == [(2, [0, 1]), (1, [2])]  # >= one token left to feed


def test_generation_config_processors_fall_back(tiny):
    """A repetition penalty in the generation config: outputs still equal generate's (it applies it)."""
    model, tok = tiny
    chats = _chats()[:2]
    model.generation_config.repetition_penalty = 1.5
    try:
        assert generation.greedy_blockers(model) == ["repetition_penalty=1.5"]
        fast, stats = generation.generate_ids(model, tok, chats, N, 2)
        ref = generation.reference_ids(model, tok, chats, N)
    finally:
        model.generation_config.repetition_penalty = 1.0
    assert fast == ref and "repetition_penalty" in stats["fallback"]
    assert generation.greedy_blockers(model) == []
    with pytest.raises(ValueError, match="batch_size"):
        generation.generate_ids(model, tok, chats, 4, 0)


def test_a_named_generation_counts_the_prompts_done(tiny, bars):
    """With `desc`, one bar over the prompts advances as rows end (continuous batching: several times), on the
    fast path and on the `generate` fallback; without it, no bar."""
    model, tok = tiny
    chats = _chats()
    generation.generate_ids(model, tok, chats, N, batch_size=3)
    assert bars == []
    fast, _ = generation.generate_ids(model, tok, chats, N, batch_size=3, desc="generate base")
    (b,) = bars
    assert b["desc"] == "generate base" and b["total"] == len(chats) == sum(b["steps"]) == b["bar"].n
    assert len(b["steps"]) > 1
    model.generation_config.repetition_penalty = 1.5
    try:
        generation.generate(model, tok, chats[:3], N, 2, desc="slow path")
    finally:
        model.generation_config.repetition_penalty = 1.0
    assert bars[1]["desc"] == "slow path" and bars[1]["total"] == 3 and bars[1]["steps"] == [1, 1, 1]
