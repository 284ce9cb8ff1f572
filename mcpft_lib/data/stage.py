"""The dataset stage: generate, validate (quarantine), split, version and store; read it back for later stages."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from mcpft_lib.config import Params
from mcpft_lib.core.fsutil import read_json, write_json
from mcpft_lib.core.schema import Example, Server
from mcpft_lib.data import card as data_card
from mcpft_lib.data import generate, validate
from mcpft_lib.data import splits as data_splits
from mcpft_lib.data.importers import import_all
from mcpft_lib.data.openai_format import write_openai_jsonl
from mcpft_lib.data.splits import SPLITS
from mcpft_lib.data.synth import recipe as synth_recipe
from mcpft_lib.data.synth import synthesize
from mcpft_lib.data.toolsets import sample_tools
from mcpft_lib.mcp import dialects
from mcpft_lib.mcp.catalogs import load_catalogs
from mcpft_lib.modeling.chat import tokenize_chat

HELD_OUT = "held_out_servers"  # examples on servers never seen in training (data.held_out_servers)


def gen_params(p: Params) -> dict:
    """Everything that determines the generated data (its hash is part of the dataset version)."""
    return {
        "seed": p.run.seed,
        "n_examples": p.data.n_examples,
        "servers": p.data.servers,
        "categories": p.data.categories,
        "max_servers_per_example": p.data.max_servers_per_example,
        "val_fraction": p.data.val_fraction,
        "test_fraction": p.data.test_fraction,
        "balance": p.data.balance,
        "weights": dict(sorted(p.data.weights.items())),
        "held_out_servers": p.data.held_out_servers,
        "max_tools_per_server": p.data.max_tools_per_server,
        **({"synth": p.data.synth.model_dump(mode="json")} if p.data.synth.n_examples else {}),
    }


def length_check(tok, p: Params):
    """Why an example does not fit data.max_length tokens with the run's tokenizer (None when it fits)."""

    def why_not(ex: Example) -> str | None:
        row, reason = tokenize_chat(tok, chat(ex, p), p.data.max_length)
        return None if row is not None else f"{reason} (data.max_length={p.data.max_length})"

    return why_not


def _validated(examples: list[Example], quarantine: list[dict], why_not=None) -> list[Example]:
    good = []
    for ex in examples:
        reasons = validate.validate_example(ex)
        if not reasons and why_not is not None and (why := why_not(ex)):
            reasons = [why]
        if reasons:
            quarantine.append({"id": ex.id, "reason": "; ".join(reasons), "category": ex.category})
        else:
            good.append(ex)
    return good


def held_out_examples(p: Params, held_out: list[Server], exclude: set[str], fits=None) -> list[Example]:
    """Examples on the held-out servers only (every category they support), minus near-duplicates of `exclude`."""
    cats = generate.available_categories(held_out, p.data.categories, p.data.max_servers_per_example)
    if not cats:
        raise ValueError(
            f"data.held_out_servers={p.data.held_out_servers}: the generator has no intent for them in "
            f"data.categories={p.data.categories}"
        )
    n = max(len(cats), round(p.data.n_examples * p.data.test_fraction))
    exs = generate.generate(n, p.run.seed + 1, held_out, cats, p.data.max_servers_per_example, p.data.balance,
                        {k: v for k, v in p.data.weights.items() if k not in p.data.servers}, fits)  # fmt: skip
    return [e for e in exs if data_splits.dedup_key(e) not in exclude]


def build_dataset(p: Params, servers: list[Server], out_dir: str | Path, held_out: list[Server] | None = None,
                  tok=None) -> dict:  # fmt: skip
    """Generate, validate (quarantine), split, check leakage, version, write JSONL (canonical, and OpenAI chat rows
    as `<split>.openai.jsonl`) + DatasetDict + card.

    With the run's tokenizer `tok`, the generator redraws examples longer than data.max_length (so every category
    keeps examples that train) and any that remain too long are quarantined with the reason.
    """
    out_dir = Path(out_dir)

    def shown(ex: Example) -> Example:
        """What the prompt lists: data.max_tools_per_server tools per server (seeded per example)."""
        return sample_tools(ex, p.data.max_tools_per_server, p.run.seed)

    why_not = length_check(tok, p) if tok is not None else None
    fits = (lambda ex: why_not(shown(ex)) is None) if why_not else None
    weights = {k: v for k, v in p.data.weights.items() if k not in p.data.held_out_servers}
    examples = generate.generate(p.data.n_examples, p.run.seed, servers, p.data.categories,
                             p.data.max_servers_per_example, p.data.balance, weights, fits)  # fmt: skip
    examples = [shown(ex) for ex in examples]
    quarantine: list[dict] = []
    synth_held: list[Example] = []
    synth_info: dict = {}
    if p.data.synth.n_examples:  # schema-driven examples over the pool (offered tool lists already cut)
        fits_whole = (lambda ex: why_not(ex) is None) if why_not else None
        mine = synth_recipe.own_catalogs(p)  # the user's servers: a share of the examples calls them
        train_srv, held_srv, family = synth_recipe.split_servers(p, mine)
        opts = synth_recipe.options(p)
        n_mine = round(p.data.synth.n_examples * p.data.synth.own_share) if mine else 0
        syn, syn_q = synthesize(train_srv, p.data.synth.n_examples - n_mine, p.run.seed, train_srv, opts, family,
                                fits_whole)  # fmt: skip
        if n_mine:
            own_ex, own_q = synthesize(mine, n_mine, p.run.seed + 2, train_srv, opts, family, fits_whole)
            syn, syn_q = syn + own_ex, syn_q + own_q
        examples += syn
        quarantine += syn_q
        if held_srv and p.data.synth.held_out_examples:
            synth_held, held_q = synthesize(held_srv, p.data.synth.held_out_examples, p.run.seed + 1, held_srv,
                                            opts, family, fits_whole)  # fmt: skip
            quarantine += held_q
        synth_info = {"train_servers": sorted(s.name for s in train_srv), "own": [s.name for s in mine],
                      "held_out_servers": sorted(s.name for s in held_srv)}  # fmt: skip
    if p.data.imports:  # public function-calling data; rows that cannot be converted are quarantined
        imported, quarantine = import_all(p.data.imports)
        examples = examples + imported
    good = _validated(examples, quarantine, why_not)
    splits = data_splits.split(good, p.run.seed, p.data.val_fraction, p.data.test_fraction)
    splits = {name: splits.get(name, []) for name in SPLITS}
    if p.data.held_out_servers:
        if held_out is None:
            held_out = load_catalogs(p.data.held_out_servers)
        seen = {data_splits.dedup_key(e) for e in good}
        held = [shown(ex) for ex in held_out_examples(p, held_out, seen, fits)]
        splits[HELD_OUT] = _validated(held, quarantine, why_not)
    if synth_held:
        seen = {data_splits.dedup_key(e) for name in SPLITS for e in splits[name]}
        fresh = [e for e in synth_held if data_splits.dedup_key(e) not in seen]
        splits[HELD_OUT] = splits.get(HELD_OUT, []) + _validated(fresh, quarantine, why_not)
    leaks = data_splits.leakage(splits)
    if leaks:  # split() keeps duplicate groups together; this is an independent audit
        raise RuntimeError(f"near-duplicate leakage across splits: {leaks[:3]}")
    all_good = [e for v in splits.values() for e in v]
    version = data_splits.dataset_version(all_good, gen_params(p))
    paths = {}
    for name, rows in splits.items():
        paths[name] = str(out_dir / f"{name}.jsonl")
        validate.write_jsonl(paths[name], rows)
    for name, rows in splits.items():  # the same split as OpenAI chat rows (TRL, Axolotl, LLaMA-Factory)
        paths[f"{name}.openai"] = str(write_openai_jsonl(rows, out_dir / f"{name}.openai.jsonl"))
    write_json(out_dir / "quarantine.json", quarantine)
    composition = [
        {"split": name, "category": cat, "count": n}
        for name, rows in splits.items()
        for cat, n in sorted(Counter(ex.category for ex in rows).items())
    ]
    info = {
        "version": version,
        "gen_params": gen_params(p),
        "n_examples": len(all_good),
        "n_quarantined": len(quarantine),
        "counts": {k: len(v) for k, v in splits.items()},
        "composition": composition,
        "leakage": len(leaks),
        **({"synth": synth_info} if synth_info else {}),
    }
    write_json(out_dir / "dataset.json", info)
    paths["hf"] = str(save_dataset_dict(splits, out_dir / "hf"))
    built = {**info, "splits": splits, "quarantine": quarantine, "paths": paths}
    paths["card"] = str(write_card(built, p, servers + (held_out or [])))
    return built


def to_rows(examples: list[Example]) -> list[dict]:
    """Flat rows for Arrow: searchable columns plus the full example as JSON (tool arguments vary per tool)."""
    return [
        {
            "id": ex.id,
            "category": ex.category,
            "difficulty": ex.difficulty,
            "servers": [s.name for s in ex.servers],
            "calls": [f"{c.server}/{c.tool}" for m in ex.messages for c in m.calls],
            "example": ex.model_dump_json(),
        }
        for ex in examples
    ]


def save_dataset_dict(splits: dict[str, list[Example]], path: str | Path) -> Path:
    """`datasets.DatasetDict` saved with save_to_disk (into a temp folder, then renamed into place)."""
    import shutil
    import tempfile

    from datasets import Dataset, DatasetDict, Features, List, Value

    features = Features({"id": Value("string"), "category": Value("string"), "difficulty": Value("string"),
                         "servers": List(Value("string")), "calls": List(Value("string")),
                         "example": Value("string")})  # fmt: skip
    dd = DatasetDict({k: Dataset.from_list(to_rows(v), features=features) for k, v in splits.items()})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
    from datasets.utils.tqdm import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    was_on = not are_progress_bars_disabled()
    disable_progress_bars()  # one bar per split is noise in a report
    try:
        dd.save_to_disk(str(tmp))
    finally:
        if was_on:
            enable_progress_bars()
    if path.exists():
        shutil.rmtree(path)
    tmp.rename(path)
    return path


def load_dataset_dict(path: str | Path) -> dict[str, list[Example]]:
    """Examples back from a saved DatasetDict."""
    from datasets import load_from_disk

    dd = load_from_disk(str(path))
    return {k: [Example.model_validate_json(j) for j in dd[k]["example"]] for k in dd}


def write_card(built: dict, p: Params, servers: list[Server], lengths: list[dict] | None = None) -> Path:
    """Dataset card (README.md in the data folder) with composition, statistics, quality, version, provenance."""

    q = data_card.quality(
        built["splits"], built["quarantine"], lengths, p.data.max_length if lengths else None
    )
    card = data_card.dataset_card(built, built["splits"], servers, q, lengths, p.data.dialect)
    out = Path(next(iter(built["paths"].values()))).parent
    return data_card.write_card(card, out)


def load_splits(data_dir: str | Path) -> dict[str, list[Example]]:
    """Read the split JSONL files back (and the held-out-servers split if there is one); a bad line is an error
    naming the file and line."""
    data_dir = Path(data_dir)
    out = {}
    for name in (*SPLITS, HELD_OUT):
        path = data_dir / f"{name}.jsonl"
        if name == HELD_OUT and not path.is_file():
            continue
        examples, bad = validate.load_jsonl(path)
        if bad:
            first = bad[0]
            raise ValueError(f"{path}:{first['line']}: {first['reason']} ({len(bad)} bad rows)")
        out[name] = examples
    return out


def dataset_info(data_dir: str | Path) -> dict:
    return read_json(Path(data_dir) / "dataset.json", {})


def chat(ex: Example, p: Params) -> list[dict]:
    """Chat messages of one example; assistant turns that hold a deliberate mistake get `learn: False`."""
    out = dialects.to_chat(ex, p.data.dialect, p.data.compact_schemas)
    mistakes = set(ex.meta.get("context_turns", []))
    learn = iter([i not in mistakes for i, m in enumerate(ex.messages) if m.role == "assistant"])
    for m in out:
        if m["role"] == "assistant":
            m["learn"] = next(learn, True)
    return out


def chats(examples: list[Example], p: Params) -> list[list[dict]]:
    return [chat(ex, p) for ex in examples]


def sample_prompts(examples: list[Example], p: Params, tok=None, n: int = 4) -> list[str]:
    """Prompts (chat up to the first assistant turn, as text) for merge checks and load-back generation."""
    out = []
    for chat in chats(examples[:n], p):
        k = next(i for i, m in enumerate(chat) if m["role"] == "assistant")
        out.append(chat[:k])
    if tok is None:
        return out
    return [tok.apply_chat_template(c, tokenize=False, add_generation_prompt=True) for c in out]


def token_lengths(tok, splits: dict[str, list[Example]], p: Params) -> list[dict]:
    """Prompt / target / total tokens per example and split with the run's tokenizer."""

    rows = []
    for name, exs in splits.items():
        for ex, chat in zip(exs, chats(exs, p), strict=True):
            row, reason = tokenize_chat(tok, chat, max_length=10**9)
            if row is None:
                rows.append(
                    {"split": name, "category": ex.category, "total": 0, "target": 0, "dropped": reason}
                )
                continue
            target = sum(1 for x in row["labels"] if x != -100)
            rows.append(
                {
                    "split": name,
                    "category": ex.category,
                    "total": len(row["input_ids"]),
                    "target": target,
                    "prompt": len(row["input_ids"]) - target,
                }
            )
    return rows


def bench_data(p: Params, n: int = 10_000) -> dict:
    """Time the generator on the profile's servers and categories (wall and CPU seconds for n examples)."""
    import time

    servers = load_catalogs(p.data.servers)
    weights = {k: v for k, v in p.data.weights.items() if k not in p.data.held_out_servers}
    t0, c0 = time.perf_counter(), time.process_time()
    exs = generate.generate(n, p.run.seed, servers, p.data.categories, p.data.max_servers_per_example,
                        p.data.balance, weights)  # fmt: skip
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    t0 = time.perf_counter()
    invalid = sum(1 for e in exs if validate.validate_example(e))
    return {
        "examples": len(exs),
        "seconds": round(wall, 3),
        "cpu_seconds": round(cpu, 3),
        "examples_per_s": round(len(exs) / wall, 1),
        "validate_seconds": round(time.perf_counter() - t0, 3),
        "invalid": invalid,
        "servers": p.data.servers,
        "categories": len(p.data.categories),
        "synth": bench_synth(p, n),
    }


def bench_synth(p: Params, n: int) -> dict:
    """Time schema-driven synthesis (validation included) over the recipe's training servers (the pool)."""
    import time

    train, _, family = synth_recipe.split_servers(p)
    t0, c0 = time.perf_counter(), time.process_time()
    exs, quarantine = synthesize(train, n, p.run.seed, train, synth_recipe.options(p), family)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "examples": len(exs),
        "servers": len(train),
        "tools": sum(len(s.tools) for s in train),
        "seconds": round(wall, 3),
        "cpu_seconds": round(cpu, 3),
        "examples_per_minute": round(60 * len(exs) / wall),
        "quarantined": len(quarantine),
        "categories": len({e.category for e in exs}),
    }
