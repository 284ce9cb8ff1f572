"""LoRA / QLoRA set-up with PEFT."""

from __future__ import annotations

from mcpft_lib.config import LoraParams, ModelParams, TrainParams


def lora_config(lp: LoraParams):
    from peft import LoraConfig

    return LoraConfig(
        r=lp.r,
        lora_alpha=lp.alpha,
        lora_dropout=lp.dropout,
        target_modules=lp.target_modules,
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
    return get_peft_model(model, lora_config(tp.lora))
