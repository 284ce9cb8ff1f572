import pytest

from mcpft_lib.config import ModelParams
from mcpft_lib.modeling import loaders


def test_tiny_model_builds_and_generates():
    model, tok = loaders.load_model(ModelParams(source="tiny_random", device="cpu"))
    assert loaders.param_count(model)["total"] < 1_000_000
    chat = [{"role": "system", "content": "S"}, {"role": "user", "content": "hi"}]
    text = tok.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
    assert text.startswith("<bos><start_of_turn>user\nS\n\nhi<end_of_turn>\n") and text.endswith(
        "<start_of_turn>model\n"
    )
    enc = tok(text, return_tensors="pt", add_special_tokens=False)
    out = model.generate(**enc, max_new_tokens=3, do_sample=False)
    assert out.shape[1] == enc["input_ids"].shape[1] + 3


@pytest.mark.parametrize("name", sorted(loaders.CHAT_TEMPLATES))
def test_templates_are_prefix_stable(name):
    """Rendering a conversation turn by turn only appends: what assistant-only labels rely on."""
    from mcpft_lib.modeling.chat import tokenize_chat

    _, tok = loaders.load_model(ModelParams(source="tiny_random", device="cpu", chat_template=name))
    chat = [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "q1"},
        {"role": "assistant", "content": "a1"},
        {"role": "user", "content": "q2"},
        {"role": "assistant", "content": "a2"},
    ]
    row, reason = tokenize_chat(tok, chat, 10_000)
    assert reason is None
    learned = tok.decode([t for t in row["labels"] if t != -100])
    assert "a1" in learned and "a2" in learned and "q1" not in learned and "S" not in learned


def test_bnb_configs():
    assert loaders.bnb_config(ModelParams(quantization="none")) is None
    q4 = loaders.bnb_config(ModelParams(quantization="nf4", compute_dtype="bfloat16"))
    assert q4.load_in_4bit and q4.bnb_4bit_quant_type == "nf4" and q4.bnb_4bit_use_double_quant
    assert loaders.bnb_config(ModelParams(quantization="int8")).load_in_8bit


def test_missing_local_path_is_clear():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="no such local folder"):  # caught while validating params
        ModelParams(source="local", id="/nonexistent/model")


def test_hub_offline_is_clear(monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # read at import time, so patch it
    with pytest.raises(loaders.ModelLoadError, match="hf download mcpft-tests/no-such-model"):
        loaders.load_config(ModelParams(source="hub", id="mcpft-tests/no-such-model"))


def test_save_refuses_overwrite(tmp_path):
    model, tok = loaders.load_model(ModelParams(source="tiny_random", device="cpu"))
    loaders.save_model(model, tok, tmp_path / "m")
    with pytest.raises(FileExistsError):
        loaders.save_model(model, tok, tmp_path / "m")
    back, _ = loaders.load_model(ModelParams(source="local", id=str(tmp_path / "m"), chat_template="gemma"))
    assert loaders.param_count(back)["total"] == loaders.param_count(model)["total"]


@pytest.mark.slow
def test_real_default_model_generates():
    """The embedded default (Gemma 3 270M GGUF from PyPI): dequantised once, cached, then loads in seconds."""
    from pathlib import Path

    from mcpft_lib.config import load_params

    p = load_params(Path(__file__).resolve().parent.parent / "params" / "default.yaml")
    model, tok = loaders.load_model(p.model)
    assert model.config.model_type.startswith("gemma3") and len(tok) >= 262_000
    import torch

    enc = tok("The capital of France is", return_tensors="pt")
    out = model.generate(**enc, max_new_tokens=5, do_sample=False)
    assert out.shape[1] == enc["input_ids"].shape[1] + 5 and tok.decode(out[0, -5:]).strip()
    with torch.no_grad():  # real pretrained weights, not noise: " Paris" is among the likeliest next tokens
        logits = model(**enc).logits[0, -1]
    paris = tok(" Paris", add_special_tokens=False)["input_ids"][0]
    assert int((logits > logits[paris]).sum()) < 20
