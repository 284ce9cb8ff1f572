"""LoRA / QLoRA set-up with PEFT."""

from __future__ import annotations

from mcpft_lib.config import LoraParams, ModelParams, TrainParams


def all_linear_names(model) -> list[str]:
    """The names PEFT's `all-linear` stands for: every linear layer's own name but the output head's."""
    import torch

    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    return sorted(
        {
            n.rsplit(".", 1)[-1]
            for n, m in model.named_modules()
            if isinstance(m, torch.nn.Linear) and m is not head
        }
    )


def num_layers(model) -> int:
    """Transformer blocks of `model` (a text model, or the text part of a multimodal one)."""
    cfg = model.config
    cfg = cfg.get_text_config() if hasattr(cfg, "get_text_config") else cfg
    return int(cfg.num_hidden_layers)


def lora_config(lp: LoraParams, model=None):
    """PEFT's LoraConfig for `train.lora`; `model` is needed when `top_layers` is set (its blocks, its linears)."""
    from peft import LoraConfig

    top, targets = {}, lp.target_modules
    if lp.top_layers:
        if model is None:
            raise ValueError("train.lora.top_layers needs the model (its number of layers)")
        n = num_layers(model)
        if lp.top_layers > n:
            raise ValueError(f"train.lora.top_layers={lp.top_layers}: the model has {n} layers")
        top = {"layers_to_transform": list(range(n - lp.top_layers, n)), "layers_pattern": "layers"}
        if targets == "all-linear":  # PEFT takes a layer range with a list of module names only
            targets = all_linear_names(model)
    return LoraConfig(
        **top,
        r=lp.r,
        lora_alpha=lp.alpha,
        lora_dropout=lp.dropout,
        target_modules=targets,
        use_rslora=lp.use_rslora,
        use_dora=lp.use_dora,
        bias="none",
        task_type="CAUSAL_LM",
    )


def prepare_peft(model, mp: ModelParams, tp: TrainParams):
    """Wrap `model` with a LoRA adapter (k-bit preparation for QLoRA); returns the PEFT model."""
    from peft import get_peft_model, prepare_model_for_kbit_training

    gc_kwargs = {"use_reentrant": False}
    if mp.quantization != "none":
        model = prepare_model_for_kbit_training(
            model,
            use_gradient_checkpointing=tp.gradient_checkpointing,
            gradient_checkpointing_kwargs=gc_kwargs,
        )
    elif tp.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=gc_kwargs)
        model.enable_input_require_grads()
    return get_peft_model(model, lora_config(tp.lora, model))
