import pytest
import torch

from mcpft_lib import models, train
from mcpft_lib.config import ModelParams, TrainParams


@pytest.fixture(scope="module")
def tiny():
    return models.load_model(ModelParams(source="tiny_random", device="cpu"))


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
    row, reason = train.tokenize_chat(tok, CHAT, 10_000)
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
    rows, dropped = train.tokenize_rows(tok, [CHAT, CHAT[:2]], max_length=20)
    assert rows == [] and dropped == {"too_long": 1, "no_assistant_tokens": 1}


def test_target_only_loss_equals_full_loss(tiny):
    model, tok = tiny
    row, _ = train.tokenize_chat(tok, CHAT, 10_000)
    ids = torch.tensor([row["input_ids"]])
    labels = torch.tensor([row["labels"]])
    with torch.no_grad():
        full = model(input_ids=ids, labels=labels).loss
        ours = train.target_only_loss(
            model, {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels}
        )
    assert torch.allclose(full, ours, atol=1e-5)


def test_lora_training_lowers_loss(tiny, tmp_path):
    model, tok = tiny
    rows, _ = train.tokenize_rows(tok, [CHAT] * 8, 10_000)
    tp = TrainParams(
        max_steps=8,
        batch_size=4,
        learning_rate=5e-3,
        logging_steps=1,
        eval_steps=4,
        save_steps=4,
        warmup_ratio=0.0,
        scheduler="constant",
        lora={"r": 8, "alpha": 16, "target_modules": "all-linear"},
    )
    summary, peft_model = train.train_lora(
        model, tok, rows, rows[:2], ModelParams(source="tiny_random"), tp, tmp_path
    )
    assert summary["steps"] == 8 and summary["final_loss"] < summary["first_loss"]
    assert (tmp_path / "adapter" / "adapter_config.json").is_file()
    log = train.read_log(summary["log"])
    assert any("eval_loss" in r for r in log) and all("step" in r for r in log)
