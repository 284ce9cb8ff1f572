"""The loss: the LM head applied only where the next token is learned, with optional per-token weights."""

from __future__ import annotations


def weighted_rows(rows: list[dict], weight: float) -> list[dict]:
    """Rows as the trainer takes them: `loss_weights` (`weight` on decision tokens, 1 elsewhere) when `weight`
    is not 1, the `decision` marks dropped either way."""
    if weight != 1.0 and rows and any("decision" not in r for r in rows):
        raise ValueError(
            "train.decision_weight needs rows with decision marks: tokenize with a fast tokenizer "
            "(tokenizer.is_fast), or set train.decision_weight: 1"
        )
    out = []
    for r in rows:
        row = {k: v for k, v in r.items() if k != "decision"}
        if weight != 1.0:
            row["loss_weights"] = [weight if d else 1.0 for d in r["decision"]]
        out.append(row)
    return out


class WeightsCollator:
    """TRL's collator plus the rows' `loss_weights`, padded with 1 (or concatenated, padding-free) to the batch."""

    def __init__(self, inner):
        self.inner = inner

    def __call__(self, examples: list[dict]) -> dict:
        import torch

        batch = self.inner(examples)
        if examples and "loss_weights" in examples[0]:
            ws = [torch.as_tensor(e["loss_weights"], dtype=torch.float32) for e in examples]
            n = batch["labels"].shape[1]
            if batch["labels"].shape[0] == 1 and len(ws) > 1:  # padding-free: one flattened row
                ws = [torch.cat(ws)]
            w = torch.ones(len(ws), n)
            for i, x in enumerate(ws):
                w[i, : len(x)] = x
            batch["loss_weights"] = w
        return batch


def target_only_loss(model, inputs: dict, num_items_in_batch=None, head_in_forward: bool = False):
    """Causal-LM loss that applies the LM head only at positions whose next token is learned.

    With a 262k vocabulary the head dominates compute; prompts and tool results (label -100) never reach it.
    The body runs through `model`'s own forward (so DDP/FSDP wrappers synchronise gradients), asked for its
    hidden states and the logits of one position only; the head is then applied, in fp32, to the target rows.
    `head_in_forward` (FSDP, whose head weight is whole only inside the wrapped forward): the forward computes
    the logits itself at the positions where any row of the batch has a target.
    Packed (padding-free) batches carry `position_ids` restarting at 0 for each example and no attention mask:
    transformers then builds a block-diagonal causal mask (sdpa/eager) or uses varlen kernels (flash
    attention), so examples never attend to each other.
    """
    import torch
    import torch.nn.functional as F

    base = _unwrap(model)
    labels = inputs["labels"]
    keys = ("input_ids", "attention_mask", "position_ids")
    if "flash" in str(getattr(base.config, "_attn_implementation", "")):
        keys += ("cu_seq_lens_q", "cu_seq_lens_k", "max_length_q", "max_length_k")
    body_inputs = {k: v for k, v in inputs.items() if k in keys}
    shift = labels[:, 1:]
    mask = shift != -100
    weights = inputs.get("loss_weights")  # train.decision_weight on the decision tokens, 1 elsewhere
    wshift = None if weights is None else weights[:, 1:].to(torch.float32)
    if head_in_forward:
        keep = mask.any(0).nonzero().flatten()
        logits = model(**body_inputs, use_cache=False, logits_to_keep=keep).logits.float()
        tgt = shift[:, keep]
        ce = F.cross_entropy(logits[tgt != -100], tgt[tgt != -100], reduction="none")
        total = ce.sum() if wshift is None else (ce * wshift[:, keep][tgt != -100]).sum()
    else:
        out = model(**body_inputs, use_cache=False, output_hidden_states=True, logits_to_keep=1)
        hidden = out.hidden_states[-1]  # after the final norm, as the head sees it
        head = base.get_output_embeddings()
        # the head runs in fp32 even under bf16 autocast: bf16 logits (8-bit mantissa) cannot tell <end_of_turn>
        # from the near-identical unused-token embeddings of a 262k vocabulary, and the model learns to end
        # turns with the wrong token
        with torch.autocast(device_type=hidden.device.type, enabled=False):
            h = hidden[:, :-1][mask].float()
            logits = F.linear(h, head.weight.float(), None if head.bias is None else head.bias.float())
        cap = getattr(base.config.get_text_config(), "final_logit_softcapping", None)
        if cap:
            logits = torch.tanh(logits / cap) * cap
        ce = F.cross_entropy(logits, shift[mask], reduction="none")
        total = ce.sum() if wshift is None else (ce * wshift[mask]).sum()
    n = num_items_in_batch if num_items_in_batch is not None else mask.sum()
    return total / torch.as_tensor(n, device=total.device).clamp(min=1)


def _unwrap(model):
    """The transformers model inside DDP/FSDP (`.module`) and PEFT (`get_base_model`) wrappers."""
    while hasattr(model, "module"):
        model = model.module
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def decision_accuracy(model, rows: list[dict], batch_size: int = 8) -> float | None:
    """Share of `rows` whose every decision token (see `modeling.chat`: the first token of a reply, the call
    opener, server and tool names, the end of a call-free turn) is the model's argmax under teacher forcing —
    tool selection without decoding. Rows without decision marks are skipped; None when none has any."""
    import torch

    base = _unwrap(model)
    head = base.get_output_embeddings()
    device = next(model.parameters()).device
    scored = [r for r in rows if any(r.get("decision", ()))]
    if not scored:
        return None
    right = 0
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for i in range(0, len(scored), batch_size):
                chunk = scored[i : i + batch_size]
                n = max(len(r["input_ids"]) for r in chunk)
                ids = torch.zeros(len(chunk), n, dtype=torch.long)
                am = torch.zeros(len(chunk), n, dtype=torch.long)
                for j, r in enumerate(chunk):
                    ids[j, : len(r["input_ids"])] = torch.as_tensor(r["input_ids"])
                    am[j, : len(r["input_ids"])] = 1
                out = model(input_ids=ids.to(device), attention_mask=am.to(device), use_cache=False,
                            output_hidden_states=True, logits_to_keep=1)  # fmt: skip
                hidden = out.hidden_states[-1]
                for j, r in enumerate(chunk):
                    pos = [t for t, d in enumerate(r["decision"]) if d and t > 0 and r["labels"][t] != -100]
                    if not pos:
                        pos = [t for t, d in enumerate(r["decision"]) if d and t > 0]
                    h = hidden[j, [t - 1 for t in pos]].float()
                    logits = torch.nn.functional.linear(h, head.weight.float())
                    right += bool((logits.argmax(-1).cpu() == ids[j, pos]).all())
    finally:
        model.train(was_training)
    return right / len(scored)
