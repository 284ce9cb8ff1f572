"""Chat tokenising: a conversation to input ids and labels (loss on assistant turns that are learned)."""

from __future__ import annotations

from collections import Counter

from mcpft_lib.mcp.xml_calls import decision_spans


def tokenize_chat(tok, messages: list[dict], max_length: int) -> tuple[dict | None, str | None]:
    """Token ids + labels for one chat: every assistant turn is learned (labels), everything else is -100.

    An assistant turn marked `learn: False` (a deliberate mistake an error-handling example recovers from)
    stays in the context but is not learned. With a fast tokenizer the row also carries `decision`: 1 for each
    learned token that decides the call (the reply's first token; the call opener with the separator before it,
    the server and tool names; in a reply without a call, the end of turn after its text), which
    `train.decision_weight` weighs in the loss.
    Each piece is tokenized as the model sees it at inference (prompt up to the generation prompt, then the
    reply), so the learned tokens are exactly what generation must produce. Returns (row, None) or
    (None, reason) when the example is dropped: too long (never cut inside a target) or nothing to learn.
    """

    input_ids: list[int] = []
    labels: list[int] = []
    decision: list[int] = []  # 1 where a learned token decides the call (see dialects.decision_spans)
    done = ""
    tools = messages[0].get("tools") if messages and messages[0]["role"] == "system" else None  # native
    offsets = bool(getattr(tok, "is_fast", False))  # character offsets need a fast (Rust) tokenizer
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        prompt = tok.apply_chat_template(
            messages[:i], tools=tools, tokenize=False, add_generation_prompt=True
        )
        full = tok.apply_chat_template(messages[: i + 1], tools=tools, tokenize=False)
        if not prompt.startswith(done) or not full.startswith(prompt):
            return None, "template_not_prefix_stable"
        ctx_ids = tok(prompt[len(done) :], add_special_tokens=False)["input_ids"]
        reply = full[len(prompt) :]
        enc = tok(reply, add_special_tokens=False, **({"return_offsets_mapping": True} if offsets else {}))
        tgt_ids = enc["input_ids"]
        input_ids += ctx_ids + tgt_ids
        learn = m.get("learn", True)
        labels += [-100] * len(ctx_ids) + (list(tgt_ids) if learn else [-100] * len(tgt_ids))
        if offsets:
            spans = decision_spans(reply, "native" if tools else "xml")
            text = (m.get("content") or "").rstrip()
            if not spans and text and (at := reply.find(text)) >= 0:  # no call: the turn ends after its text
                spans = [(at + len(text), at + len(text) + 1)]
            # the first token (call or talk) and every token overlapping a deciding span
            marks = [int(learn and (k == 0 or any(a < e and s < b for s, e in spans)))
                     for k, (a, b) in enumerate(enc["offset_mapping"])]  # fmt: skip
            decision += [0] * len(ctx_ids) + marks
        done = full
    if not any(lbl != -100 for lbl in labels):
        return None, "no_assistant_tokens"
    if len(input_ids) > max_length:
        return None, "too_long"
    row = {"input_ids": input_ids, "labels": labels}
    if offsets:
        row["decision"] = decision
    return row, None


def tokenize_rows(tok, chats: list[list[dict]], max_length: int) -> tuple[list[dict], Counter]:
    """Tokenize many chats; dropped ones are counted by reason (never silently lost)."""
    rows, dropped = [], Counter()
    for chat in chats:
        row, reason = tokenize_chat(tok, chat, max_length)
        if row is None:
            dropped[reason] += 1
        else:
            rows.append(row)
    return rows, dropped
