import io
import re
from pathlib import Path

import pytest
import torch

from mcpft_lib.config import ModelParams, TrainParams
from mcpft_lib.core import progressbar
from mcpft_lib.modeling import chat, loaders, peft_setup
from mcpft_lib.train import loss as train_loss
from mcpft_lib.train import sweep, trainer


@pytest.fixture(scope="module")
def tiny():
    return loaders.load_model(ModelParams(source="tiny_random", device="cpu"))


CHAT = [
    {"role": "system", "content": "SYSTEM PROMPT"},
    {"role": "user", "content": "first question"},
    {"role": "assistant", "content": "WRONG CALL", "learn": False},
    {"role": "user", "content": "tool said error"},
    {"role": "assistant", "content": "FIXED CALL"},
    {"role": "user", "content": "tool result"},
    {"role": "assistant", "content": "FINAL ANSWER"},
]


def test_only_assistant_turns_are_learned(tiny):
    _, tok = tiny
    row, reason = chat.tokenize_chat(tok, CHAT, 10_000)
    assert reason is None and len(row["input_ids"]) == len(row["labels"])
    learned = tok.decode([t for t in row["labels"] if t != -100])
    assert "FIXED CALL" in learned and "FINAL ANSWER" in learned and learned.count("<end_of_turn>") == 2
    for text in (
        "SYSTEM PROMPT",
        "first question",
        "tool said error",
        "tool result",
        "WRONG CALL",
        "model\n",
    ):
        assert text not in learned
    # the whole sequence is the chat template's rendering, token for token
    full = tok.apply_chat_template(
        [{k: v for k, v in m.items() if k != "learn"} for m in CHAT], tokenize=False
    )
    assert tok.decode(row["input_ids"]) == full


def test_too_long_is_dropped_not_cut(tiny):
    _, tok = tiny
    rows, dropped = chat.tokenize_rows(tok, [CHAT, CHAT[:2]], max_length=20)
    assert rows == [] and dropped == {"too_long": 1, "no_assistant_tokens": 1}


@pytest.mark.parametrize("head_in_forward", [False, True])
def test_target_only_loss_equals_full_loss(tiny, head_in_forward):
    """Both paths (head applied outside the forward in fp32; logits from the forward at target positions, as
    under FSDP) give the model's own loss, on a right-padded batch of two chats."""
    model, tok = tiny
    rows, _ = chat.tokenize_rows(tok, [CHAT, CHAT[:3] + CHAT[4:5]], 10_000)
    width = max(len(r["input_ids"]) for r in rows)
    ids = torch.tensor([r["input_ids"] + [tok.pad_token_id] * (width - len(r["input_ids"])) for r in rows])
    labels = torch.tensor([r["labels"] + [-100] * (width - len(r["labels"])) for r in rows])
    am = torch.tensor([[1] * len(r["input_ids"]) + [0] * (width - len(r["input_ids"])) for r in rows])
    with torch.no_grad():
        full = model(input_ids=ids, attention_mask=am, labels=labels).loss
        ours = train_loss.target_only_loss(
            model, {"input_ids": ids, "attention_mask": am, "labels": labels}, head_in_forward=head_in_forward
        )
    assert torch.allclose(full, ours, atol=1e-5)


@pytest.mark.slow
def test_lora_training_lowers_loss(tiny, tmp_path):
    model, tok = tiny
    rows, _ = chat.tokenize_rows(tok, [CHAT] * 8, 10_000)
    tp = TrainParams(
        max_steps=8,
        batch_size=4,
        learning_rate=5e-3,
        logging_steps=1,
        eval_every=4,
        save_every=4,
        warmup_ratio=0.0,
        scheduler="constant",
        lora={"r": 8, "alpha": 16, "target_modules": "all-linear"},
    )
    summary, peft_model = trainer.train_lora(
        model, tok, rows, rows[:2], ModelParams(source="tiny_random"), tp, tmp_path
    )
    assert summary["steps"] == 8 and summary["final_loss"] < summary["first_loss"]
    assert (tmp_path / "adapter" / "adapter_config.json").is_file()
    log = trainer.read_log(summary["log"])
    assert any("eval_loss" in r for r in log) and all("step" in r for r in log)


@pytest.mark.slow
def test_early_stopping_stops_and_keeps_the_best(tmp_path):
    """Training memorises CHAT's replies while validation holds the same prompts with other replies: the validation
    loss rises after the first evaluation, so patience 1 stops training at the second (step 4 of 20) and the
    first evaluation's checkpoint is the best one, kept and saved as the adapter."""
    from safetensors.torch import load_file

    mp = ModelParams(source="tiny_random", device="cpu")
    model, tok = loaders.load_model(mp)
    rows, _ = chat.tokenize_rows(tok, [CHAT] * 8, 10_000)
    other = [dict(m, content=m["content"].lower()[::-1]) if m["role"] == "assistant" else m for m in CHAT]
    val, _ = chat.tokenize_rows(tok, [other] * 2, 10_000)
    tp = TrainParams(
        max_steps=20,
        batch_size=2,
        learning_rate=0.05,
        logging_steps=1,
        eval_every=2,
        save_every=2,
        save_total_limit=1,
        warmup_ratio=0.0,
        scheduler="constant",
        mixed_precision="fp32",
        early_stopping={"patience": 1, "min_delta": 0.0},
        lora={"r": 8, "alpha": 16, "target_modules": "all-linear"},
    )
    summary, _ = trainer.train_lora(model, tok, rows, val, mp, tp, tmp_path)
    assert summary["stopped_early"] and summary["steps"] == 4
    evals = {r["step"]: r["eval_loss"] for r in trainer.read_log(summary["log"]) if "eval_loss" in r}
    assert list(evals) == [0, 2, 4] and evals[4] > evals[2]  # step 0: the base model, before training
    assert summary["best_step"] == 2 and summary["best_val_loss"] == pytest.approx(evals[2])
    best = Path(summary["best_checkpoint"])
    assert best.name == "checkpoint-2" and best.is_dir()  # kept despite save_total_limit=1
    saved, kept = (
        load_file(tmp_path / "adapter/adapter_model.safetensors"),
        load_file(best / "adapter_model.safetensors"),
    )
    assert summary["adapter_is_best"] and all(torch.equal(saved[k], kept[k]) for k in kept)


def test_early_stopping_params_are_checked():
    with pytest.raises(ValueError, match="save_every=4 must be a multiple of eval_every=3"):
        TrainParams(eval_every=3, save_every=4, early_stopping={"patience": 2})


def test_packed_examples_do_not_attend_to_each_other(tiny):
    """A padding-free batch (examples concatenated, position_ids restarting at 0) gives each example the loss
    it has alone: transformers derives a block-diagonal mask from the position_ids (sdpa on CPU)."""
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    model, tok = tiny
    short = [CHAT[0], CHAT[1], {"role": "assistant", "content": "SHORT"}]
    rows, _ = chat.tokenize_rows(tok, [CHAT, short], 10_000)
    packed = DataCollatorForLanguageModeling(pad_token_id=tok.pad_token_id, padding_free=True)(rows)
    assert "attention_mask" not in packed and packed["input_ids"].shape[0] == 1
    with torch.no_grad():
        total, n = 0.0, 0
        for r in rows:
            ids, labels = torch.tensor([r["input_ids"]]), torch.tensor([r["labels"]])
            k = int((labels[:, 1:] != -100).sum())
            total, n = (
                total + float(train_loss.target_only_loss(model, {"input_ids": ids, "labels": labels})) * k,
                n + k,
            )
        alone = total / n
        together = float(train_loss.target_only_loss(model, packed))
        leaky = float(train_loss.target_only_loss(model, {k: packed[k] for k in ("input_ids", "labels")}))
    assert together == pytest.approx(alone, abs=1e-5)
    assert abs(leaky - alone) > 1e-3  # without the position_ids the second example would see the first


@pytest.mark.parametrize("batching", ["packed", "grouped", "padded"])
def test_batching_modes_train_and_report_real_tokens(tmp_path, batching):
    mp = ModelParams(source="tiny_random", device="cpu")
    model, tok = loaders.load_model(mp)
    chats = [CHAT[:2] + [{"role": "assistant", "content": "word " * (1 + 7 * i)}] for i in range(8)]
    rows, _ = chat.tokenize_rows(tok, chats, 10_000)
    tp = TrainParams(
        max_steps=4, batch_size=4, logging_steps=1, eval_every=4, save_every=4, batching=batching
    )
    summary, _ = trainer.train_lora(model, tok, rows, rows[:2], mp, tp, tmp_path)
    real = sum(len(r["input_ids"]) for r in rows) * 2  # 4 steps x 4 rows = every row twice
    log = [r for r in trainer.read_log(summary["log"]) if "loss" in r]
    assert summary["steps"] == 4 and all(r["tokens_per_s"] > 0 for r in log)
    frac = summary["real_token_fraction"]
    if batching == "packed":
        assert frac == 1.0 and summary["pad_to_multiple_of"] is None
    else:  # padded to a multiple of 64 (train.pad_to_multiple_of) at or above the longest row of each batch
        longest = max(len(r["input_ids"]) for r in rows)
        assert summary["pad_to_multiple_of"] == 64 and longest % 64
        assert real / (16 * (longest // 64 + 1) * 64) <= frac < 1.0
        processed = real / frac  # tokens in the padded batches: 4 rows x a multiple of 64 each
        assert round(processed) % (4 * 64) == 0
    assert log[-1]["real_token_fraction"] == pytest.approx(frac)


def test_pad_to_multiple_of_null_pads_to_the_longest_row(tmp_path):
    mp = ModelParams(source="tiny_random", device="cpu")
    model, tok = loaders.load_model(mp)
    chats = [CHAT[:2] + [{"role": "assistant", "content": "word " * (1 + 7 * i)}] for i in range(4)]
    rows, _ = chat.tokenize_rows(tok, chats, 10_000)
    tp = TrainParams(max_steps=1, batch_size=4, logging_steps=1, eval_every=4, save_every=4,
                     batching="padded", pad_to_multiple_of=None)  # fmt: skip
    summary, _ = trainer.train_lora(model, tok, rows, [], mp, tp, tmp_path)
    longest = max(len(r["input_ids"]) for r in rows)
    real = sum(len(r["input_ids"]) for r in rows)
    assert summary["real_token_fraction"] == pytest.approx(real / (4 * longest))


@pytest.mark.slow
def test_log_has_the_curves_and_tensorboard_gets_them(tmp_path):
    mp = ModelParams(source="tiny_random", device="cpu")
    model, tok = loaders.load_model(mp)
    rows, _ = chat.tokenize_rows(tok, [CHAT] * 4, 10_000)
    tp = TrainParams(
        max_steps=2, batch_size=2, logging_steps=1, eval_every=2, save_every=2, report_to="tensorboard"
    )
    summary, _ = trainer.train_lora(model, tok, rows, rows[:1], mp, tp, tmp_path)
    log = trainer.read_log(summary["log"])
    steps = [r for r in log if "loss" in r]
    assert len(steps) == 2
    for key in ("loss", "learning_rate", "grad_norm", "tokens_per_s", "real_token_fraction", "rss_max_gib"):
        assert all(key in r for r in steps), key
    assert any("eval_loss" in r for r in log)
    events = list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
    assert events and b"train/loss" in events[0].read_bytes() and b"eval/loss" in events[0].read_bytes()


def test_headless_training_shows_validation_passes_on_the_terminal(tmp_path, monkeypatch):
    """In a headless run (MCPFT_PROGRESS=terminal, as the report runner sets it) the training bar and a bar per
    validation pass go to the terminal: the step-0 pass before training (minutes on the default profile) and
    the one at step 2, each over the validation batches."""
    out = io.StringIO()
    monkeypatch.setattr(progressbar, "terminal_stderr", lambda: out)
    monkeypatch.setenv(progressbar.ENV, progressbar.TERMINAL)
    mp = ModelParams(source="tiny_random", device="cpu")
    model, tok = loaders.load_model(mp)
    rows, _ = chat.tokenize_rows(tok, [CHAT] * 4, 10_000)
    tp = TrainParams(max_steps=2, batch_size=2, logging_steps=1, eval_every=2, save_every=2)
    trainer.train_lora(model, tok, rows, rows[:3], mp, tp, tmp_path)  # progress_to_stderr: headless() decides
    text = out.getvalue()
    assert len(re.findall(r"validation:   0%\|[^|]*\| 0/2 ", text)) == 2  # 3 rows in batches of 2, twice
    assert re.search(r"validation: 100%\|[^|]*\| 2/2 ", text)  # the step-0 pass, kept on screen when done
    assert re.search(r"train: 100%\|[^|]*\| 2/2 ", text) and "'eval_loss'" in text


def test_rank_sweep_table_and_chart():
    from mcpft_lib.config import load_params

    p = load_params(Path(__file__).resolve().parent.parent / "params/smoke.yaml")
    _, tok = loaders.load_model(p.model)
    rows, _ = chat.tokenize_rows(tok, [CHAT] * 4, 10_000)
    table, fig = sweep.rank_sweep(p, rows, rows[:1], ranks=[2, 8], steps=2, log=lambda *a, **k: None)
    assert [t["rank"] for t in table] == [2, 8]
    assert [t["alpha"] for t in table] == [4, 16]  # smoke: alpha / r = 2
    assert table[1]["trainable_params"] == 4 * table[0]["trainable_params"]
    for t in table:
        assert t["final_train_loss"] > 0 and t["final_val_loss"] > 0 and t["tokens_per_s"] > 0
        assert t["peak_mem_gib"] > 0
    assert {tr.name for tr in fig.data} == {"train", "validation", "tokens/s"}
    with pytest.raises(ValueError, match="train.rank_sweep"):
        sweep.rank_sweep(p, rows, rows[:1])  # smoke sets no ranks


def test_training_curves_have_every_panel():
    log = [
        {"step": 1, "loss": 2.0, "learning_rate": 1e-3, "grad_norm": 1.5, "tokens_per_s": 100.0},
        {"step": 2, "eval_loss": 1.9},
        {"step": 2, "loss": 1.5, "learning_rate": 5e-4, "grad_norm": 1.0, "tokens_per_s": 120.0},
    ]
    fig = sweep.training_curves(log)
    assert [(t.name, list(t.x)) for t in fig.data] == [
        ("loss", [1, 2]),
        ("eval_loss", [2]),
        ("learning_rate", [1, 2]),
        ("grad_norm", [1, 2]),
        ("tokens_per_s", [1, 2]),
    ]


def test_qlora_path_on_cpu():
    """bitsandbytes runs nf4 on CPU: k-bit preparation, gradient checkpointing and a LoRA backward pass."""
    from bitsandbytes.nn import Linear4bit

    mp = ModelParams(source="tiny_random", device="cpu", quantization="nf4", compute_dtype="float32")
    model, tok = loaders.load_model(mp)
    tp = TrainParams(
        gradient_checkpointing=True, lora={"r": 4, "alpha": 8, "target_modules": ["q_proj", "v_proj"]}
    )
    peft_model = peft_setup.prepare_peft(model, mp, tp)
    assert peft_model.is_activation_checkpointing
    q = peft_model.get_base_model().model.layers[0].self_attn.q_proj
    assert isinstance(q.base_layer, Linear4bit)
    row, _ = chat.tokenize_chat(tok, CHAT, 10_000)
    ids, labels = torch.tensor([row["input_ids"]]), torch.tensor([row["labels"]])
    peft_model.train()
    loss = train_loss.target_only_loss(peft_model, {"input_ids": ids, "labels": labels})
    loss.backward()
    grads = [p.grad for n, p in peft_model.named_parameters() if "lora_" in n]
    assert grads and all(g is not None for g in grads) and any(float(g.abs().sum()) > 0 for g in grads)
    assert not any(p.requires_grad for n, p in peft_model.named_parameters() if "lora_" not in n)


def test_distributed_and_multi_gpu_placement(monkeypatch):
    """model.device_map reaches from_pretrained; quantized loads go to each DDP process's own GPU; FSDP packs
    4-bit weights in the compute dtype (plumbing: the GPU runs themselves need GPUs)."""
    from transformers import AutoModelForCausalLM

    seen, real = [], AutoModelForCausalLM.from_pretrained
    monkeypatch.setattr(
        AutoModelForCausalLM,
        "from_pretrained",
        lambda *a, **kw: seen.append(kw.get("device_map")) or real(*a, **kw),
    )
    loaders.load_model(ModelParams(source="tiny_random", device="cpu", device_map="cpu"))
    assert seen == ["cpu"]
    monkeypatch.undo()
    mp = ModelParams(source="tiny_random", quantization="nf4", compute_dtype="bfloat16", device_map="auto")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert loaders._local_rank() == 1
    assert loaders.bnb_config(mp).bnb_4bit_quant_storage == torch.uint8
    monkeypatch.setenv("ACCELERATE_USE_FSDP", "true")
    assert loaders.bnb_config(mp).bnb_4bit_quant_storage == torch.bfloat16


def test_summary_line():
    s = {
        "steps": 40,
        "seconds": 300.0,
        "first_loss": 2.5,
        "final_loss": 0.51234,
        "first_val_loss": 2.4,
        "final_val_loss": None,
        "real_token_fraction": 0.975,
        "batching": "grouped",
        "tokens_per_s": 250.4,
        "stopped_early": True,
        "best_step": 30,
        "best_val_loss": 0.6,
        "resumed_from": "/x/checkpoints/checkpoint-20",
    }
    assert trainer.summary_line(s) == (
        "40 steps in 5.0 min · loss 2.500 → 0.512 · validation 2.400 → n/a · 97.5% of processed tokens real "
        "(grouped batches) · 250 tokens/s · stopped early; best step 30 (validation 0.600) · resumed from "
        "checkpoint-20"
    )
    s = {
        **s,
        "stopped_early": False,
        "resumed_from": None,
        "decision_weight": 3.0,
        "decision_token_fraction": 0.081,
    }
    assert trainer.summary_line(s).endswith("250 tokens/s · decision tokens weighted x3 (8.1% of targets)")


@pytest.mark.slow
@pytest.mark.parametrize("oom_after_steps", [0, 3])
def test_out_of_memory_halves_the_batch_and_keeps_the_effective_batch(tmp_path, monkeypatch, oom_after_steps):
    """A batch of 4 'runs out of memory' (a CUDA OOM raised by the loss, as on a card that is too small) either at
    once or after a checkpoint at step 2: training goes on at 2 x 2 accumulation, from the adapter's initial
    weights or from the newest checkpoint, logs the event and reaches max_steps."""
    model, tok = loaders.load_model(ModelParams(source="tiny_random", device="cpu"))
    rows, _ = chat.tokenize_rows(tok, [CHAT] * 8, 10_000)
    real_loss, seen = train_loss.target_only_loss, {"big": 0}

    def loss(model, inputs, num_items_in_batch=None, **kw):
        if inputs["input_ids"].shape[0] > 2:
            seen["big"] += 1
            if seen["big"] > oom_after_steps:
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_loss(model, inputs, num_items_in_batch, **kw)

    monkeypatch.setattr(trainer, "target_only_loss", loss)  # the name the trainer class calls
    tp = TrainParams(max_steps=6, batch_size=4, grad_accum=1, logging_steps=1, eval_every=2, save_every=2,
                     warmup_ratio=0.0, lora={"r": 4, "alpha": 8})  # fmt: skip
    with pytest.warns(UserWarning, match="out of memory at step .* with batch 4: retrying with batch 2 x 2"):
        summary, _ = trainer.train_lora(
            model, tok, rows, rows[:2], ModelParams(source="tiny_random"), tp, tmp_path
        )
    assert summary["steps"] == 6 and (summary["batch_size"], summary["grad_accum"]) == (2, 2)
    (event,) = summary["oom_retries"]
    assert event["oom_at_step"] == oom_after_steps
    assert event["resumed_from"] == (
        None if oom_after_steps == 0 else str(tmp_path / "checkpoints" / "checkpoint-2")
    )
    log = trainer.read_log(summary["log"])
    assert [r["step"] for r in log if "loss" in r] == list(range(1, 7))  # every step once, none from before
    assert any(r.get("event") == "oom_halving" for r in log)

    monkeypatch.setattr(
        trainer, "target_only_loss", lambda *a, **k: (_ for _ in ()).throw(ValueError("not OOM"))
    )
    with pytest.raises(ValueError, match="not OOM"):  # anything else is not retried
        trainer.train_lora(model, tok, rows, [], ModelParams(source="tiny_random"), tp, tmp_path / "again")


def test_halve_batch_and_partial_log_line(tmp_path):
    assert (
        trainer.halve_batch(8, 1) == (4, 2)
        and trainer.halve_batch(6, 1) == (3, 2)
        and trainer.halve_batch(3, 2) == (1, 6)
    )
    with pytest.raises(ValueError):
        trainer.halve_batch(1, 4)
    log = tmp_path / "train_log.jsonl"
    log.write_text('{"step": 1, "loss": 2.0}\n{"step": 2, "lo')  # killed while writing the last line
    assert trainer.read_log(log) == [{"step": 1, "loss": 2.0}]
    log.write_text('{"step": 1, "lo\n{"step": 2, "loss": 2.0}\n')
    with pytest.raises(ValueError, match="train_log.jsonl:1"):
        trainer.read_log(log)


CALL_CHAT = [
    {"role": "system", "content": "SYSTEM PROMPT"},
    {"role": "user", "content": "what changed in /repo?"},
    {"role": "assistant", "content": "Checking.\n\n<use_mcp_tool>\n<server_name>git</server_name>\n<tool_name>"
     "git_status</tool_name>\n<arguments>\n{\"repo_path\": \"/repo\"}\n</arguments>\n</use_mcp_tool>"},
    {"role": "user", "content": "[use_mcp_tool for 'git'] Result:\nclean"},
    {"role": "assistant", "content": "Nothing changed."},
]  # fmt: skip


def test_decision_tokens_are_the_call_opener_and_names(tiny):
    """The marked tokens of a reply are its first token, `<use_mcp_tool>` (and the separator before it) and the
    server and tool names, or the end of a turn without a call: not the arguments, not the prompt, not the rest of
    the text."""
    _, tok = tiny
    row, _ = chat.tokenize_chat(tok, CALL_CHAT, 10_000)
    assert len(row["decision"]) == len(row["input_ids"])
    marked = [t for t, d in zip(row["input_ids"], row["decision"], strict=True) if d]
    text = tok.decode(marked)
    for piece in ("<use_mcp_tool>", "git_status"):
        assert piece in text, text
    for piece in ("repo_path", "arguments", "SYSTEM", "Result", "changed in"):
        assert piece not in text, text
    assert all(lbl != -100 for lbl, d in zip(row["labels"], row["decision"], strict=True) if d)
    # the first token of each learned reply is marked ("Checking", "Nothing")
    starts = [
        i for i in range(1, len(row["labels"])) if row["labels"][i] != -100 and row["labels"][i - 1] == -100
    ]
    assert len(starts) == 2 and all(row["decision"][i] for i in starts)
    wrong, _ = chat.tokenize_chat(
        tok, CALL_CHAT[:2] + [{**CALL_CHAT[2], "learn": False}] + CALL_CHAT[3:], 10_000
    )
    # a turn not learned has no decision tokens: "Nothing" and the end of that text-only turn are left
    left = [t for t, d in zip(wrong["input_ids"], wrong["decision"], strict=True) if d]
    assert (
        len(left) == 2
        and "Nothing".startswith(tok.decode(left[:1]))
        and tok.decode(left[1:]) == "<end_of_turn>"
    )


@pytest.mark.slow
def test_weighted_loss_is_the_weighted_sum_of_token_losses(tiny):
    model, tok = tiny
    row, _ = chat.tokenize_chat(tok, CALL_CHAT, 10_000)
    ids, labels = torch.tensor([row["input_ids"]]), torch.tensor([row["labels"]])
    w = torch.tensor([[4.0 if d else 1.0 for d in row["decision"]]])
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0, :-1].float()
        ce = torch.nn.functional.cross_entropy(logits, labels[0, 1:], reduction="none", ignore_index=-100)
        n = (labels[0, 1:] != -100).sum()
        want = (ce * w[0, 1:]).sum() / n
        plain = train_loss.target_only_loss(model, {"input_ids": ids, "labels": labels})
        for head_in_forward in (False, True):
            got = train_loss.target_only_loss(model, {"input_ids": ids, "labels": labels, "loss_weights": w},
                                         head_in_forward=head_in_forward)  # fmt: skip
            assert torch.allclose(got, want, atol=1e-5) and got > plain * 1.05


@pytest.mark.slow
def test_decision_weight_trains_and_validation_loss_stays_plain(tmp_path):
    mp = ModelParams(source="tiny_random", device="cpu")
    runs = {}
    for weight in (1.0, 5.0):
        model, tok = loaders.load_model(mp)
        rows, _ = chat.tokenize_rows(tok, [CALL_CHAT] * 4, 10_000)
        tp = TrainParams(max_steps=2, batch_size=2, logging_steps=1, eval_every=2, save_every=2,
                         decision_weight=weight, batching="packed" if weight == 5.0 else "grouped")  # fmt: skip
        summary, _ = trainer.train_lora(model, tok, rows, rows[:2], mp, tp, tmp_path / str(weight))
        log = trainer.read_log(summary["log"])
        runs[weight] = (summary, [r for r in log if "eval_loss" in r][0]["eval_loss"], log)
    (_, v1, log1), (heavy, v5, log5) = runs[1.0], runs[5.0]
    assert heavy["decision_weight"] == 5.0 and 0 < heavy["decision_token_fraction"] < 0.5
    assert v1 == pytest.approx(v5, abs=1e-5)  # step 0: same model, validation unweighted
    first = [r["loss"] for r in log1 if "loss" in r][0], [r["loss"] for r in log5 if "loss" in r][0]
    assert first[1] > first[0] * 1.2  # the training loss is weighted


def test_decision_weight_needs_decision_marks():
    with pytest.raises(ValueError, match="decision_weight"):
        train_loss.weighted_rows([{"input_ids": [1], "labels": [1]}], 2.0)
    assert train_loss.weighted_rows([{"input_ids": [1], "labels": [1]}], 1.0) == [
        {"input_ids": [1], "labels": [1]}
    ]


def test_decision_accuracy_is_argmax_agreement_on_every_decision_token(tiny):
    """`loss.decision_accuracy` counts a row right when the argmax of full logits equals every marked token; a
    model made to predict a row's tokens gets 1, the random tiny model gets the brute-force answer."""
    model, tok = tiny
    rows, _ = chat.tokenize_rows(tok, [CALL_CHAT, CALL_CHAT[:3]], 10_000)
    want = 0
    with torch.no_grad():
        for r in rows:
            logits = model(input_ids=torch.tensor([r["input_ids"]])).logits[0].float()
            pos = [t for t, d in enumerate(r["decision"]) if d and t > 0]
            want += bool(all(int(logits[t - 1].argmax()) == r["input_ids"][t] for t in pos))
    assert train_loss.decision_accuracy(model, rows, batch_size=2) == want / 2
    assert train_loss.decision_accuracy(model, [{"input_ids": [1], "labels": [1], "decision": [0]}]) is None


@pytest.mark.slow
def test_select_by_held_out_picks_and_stops_on_held_out_decisions(tmp_path, monkeypatch):
    """train.select_by: held_out scores the held-out rows at every evaluation (step 0 included); the best checkpoint
    and early stopping follow that score, not the validation loss. The score is scripted here (the real one is
    tested above) so that the best step is known: 0.1, 0.5, 0.3 -> best step 2, patience 1 stops at step 4."""
    scores = iter([0.1, 0.5, 0.3, 0.2, 0.1])
    seen = []

    def scripted(model, rows, batch_size=8):
        seen.append(len(rows))
        return next(scores)

    monkeypatch.setattr(trainer, "decision_accuracy", scripted)
    mp = ModelParams(source="tiny_random", device="cpu")
    model, tok = loaders.load_model(mp)
    rows, _ = chat.tokenize_rows(tok, [CALL_CHAT] * 8, 10_000)
    tp = TrainParams(max_steps=10, batch_size=2, learning_rate=0.05, logging_steps=1, eval_every=2, save_every=2,
                     save_total_limit=1, warmup_ratio=0.0, scheduler="constant", mixed_precision="fp32",
                     select_by="held_out", early_stopping={"patience": 1},
                     lora={"r": 8, "alpha": 16, "target_modules": "all-linear"})  # fmt: skip
    summary, _ = trainer.train_lora(model, tok, rows, rows[:2], mp, tp, tmp_path, select_rows=rows[:3])
    log = trainer.read_log(summary["log"])
    evals = {r["step"]: r[trainer.SELECT_METRIC] for r in log if trainer.SELECT_METRIC in r}
    assert evals == {0: 0.1, 2: 0.5, 4: 0.3} and seen == [3, 3, 3]
    assert summary["stopped_early"] and summary["steps"] == 4 and summary["best_step"] == 2
    assert (
        summary["select_by"] == "held_out"
        and summary["best_metric"] == 0.5
        and summary["best_val_loss"] is None
    )
    assert (
        summary["held_out_decisions"] == [0.1, 0.5, 0.3]
        and Path(summary["best_checkpoint"]).name == "checkpoint-2"
    )
    assert all(
        "eval_loss" in r for r in log if trainer.SELECT_METRIC in r
    )  # the validation loss is still logged
    with pytest.raises(ValueError, match="select_by: held_out needs"):
        trainer.train_lora(model, tok, rows, rows[:2], mp, tp, tmp_path / "none")


def test_top_layers_adapts_only_the_top_blocks_and_backward_stops_there():
    """train.lora.top_layers: adapters on the top blocks only; the blocks below run no backward at all."""
    mp = ModelParams(source="tiny_random", device="cpu", tiny={"num_layers": 4})
    model, tok = loaders.load_model(mp)
    tp = TrainParams(lora={"r": 4, "alpha": 8, "target_modules": "all-linear", "top_layers": 1})
    peft_model = peft_setup.prepare_peft(model, mp, tp)
    adapted = {
        int(re.search(r"layers\.(\d+)\.", n).group(1))
        for n, _ in peft_model.named_parameters()
        if "lora_" in n
    }
    assert adapted == {3}
    seen = []  # blocks whose backward ran
    for i, layer in enumerate(peft_model.get_base_model().model.layers):
        layer.register_full_backward_hook(lambda m, gi, go, i=i: seen.append(i))
    row, _ = chat.tokenize_chat(tok, CHAT, 10_000)
    ids, labels = torch.tensor([row["input_ids"]]), torch.tensor([row["labels"]])
    peft_model.train()
    train_loss.target_only_loss(peft_model, {"input_ids": ids, "labels": labels}).backward()
    assert seen == [3]
    with pytest.raises(ValueError, match="top_layers=5: the model has 4 layers"):
        peft_setup.lora_config(TrainParams(lora={"top_layers": 5}).lora, model)
