"""`mcpft` command line: run the pipeline, check params, list reports, regenerate catalogs, generate data."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mcpft_lib import hardware, runs
from mcpft_lib.config import ParamsError, load_params
from mcpft_lib.data import stage, synth
from mcpft_lib.evaluation import perf
from mcpft_lib.evaluation.bfcl import bench as bfcl_bench
from mcpft_lib.evaluation.runner import live_runner
from mcpft_lib.export import registry
from mcpft_lib.mcp import catalogs, harvest, pool
from mcpft_lib.mcp.catalogs import load_catalogs
from mcpft_lib.report import runner, site
from mcpft_lib.serve import app as serve_app
from mcpft_lib.train import bench


def _params(args):
    return load_params(args.params, args.set)


def cmd_run(args) -> int:
    params = _params(args)  # validated before anything heavy happens
    if "04_evaluation" in runner.select_notebooks(args.only):
        # your own live servers (eval.live.commands) start once now: a broken one fails before any work
        live_runner(params)
    run = runner.run_pipeline(
        params,
        args.params,
        args.set,
        only=args.only,
        upstream=args.upstream,
        notebooks_dir=Path(args.notebooks) if args.notebooks else None,
        timeout=args.cell_timeout,
    )
    return 0 if run.info().get("status") == "ok" else 1


def cmd_check(args) -> int:
    params = _params(args)
    print(f"{args.params}: ok (profile {params.run.profile}, params hash {params.hash()})")
    return 0


def cmd_report(args) -> int:
    index = site.rebuild_site()
    for r in runs.list_runs()[: args.limit]:
        print(f"{r.get('status', '?'):8} {r.get('id')}")
    print(f"index: {index}")
    return 0


def cmd_bench(args) -> int:
    if args.what == "data":
        r = stage.bench_data(_params(args), n=args.examples)
        print(
            f"generated {r['examples']} examples on {', '.join(r['servers'])} ({r['categories']} categories) "
            f"in {r['seconds']:.2f} s ({r['cpu_seconds']:.2f} s CPU); validated in {r['validate_seconds']:.2f} s "
            f"({r['invalid']} invalid)"
        )
        y = r["synth"]
        print(
            f"schema-driven: {y['examples']} examples over {y['servers']} servers / {y['tools']} tools "
            f"({y['categories']} categories, validated, {y['quarantined']} draws quarantined) in {y['seconds']:.2f} s "
            f"({y['cpu_seconds']:.2f} s CPU): {y['examples_per_minute']} examples/minute"
        )
        print(
            f"examples/second: {r['examples_per_s']:.0f} (intents), {y['examples_per_minute'] / 60:.0f} (schema-driven)"
        )
        print(f"schema-driven / target 10,000 per minute: {y['examples_per_minute'] / 10_000:.2f}x")
        return 0
    if args.what == "generate":
        perf.bench_generate(args.params, args.set, n=args.items)
        return 0
    if args.what == "bfcl" and args.compare:
        bfcl_bench.compare_files(*args.compare)
        return 0
    if args.what == "bfcl":
        cats = args.categories.split(",") if args.categories else None
        bfcl_bench.run_bench(args.params, args.set, args.model, args.run, cats, args.per_category, args.out)
        return 0
    if args.what == "perf" and args.backends:
        mp = None
        if args.model == "fine_tuned":
            mp = bfcl_bench.model_params(load_params(args.params, args.set), "fine_tuned", args.run)
        perf.bench_backends(
            args.params, args.set, args.backends.split(","), args.items, args.new_tokens * 4, mp
        )
        return 0
    if args.what == "perf":
        variants = args.variants.split(",") if args.variants else list(perf.VARIANTS)
        perf.run_perf(args.params, args.set, variants, args.new_tokens, args.adapter, args.merged, args.gguf)
        return 0

    # the peak the utilisation is measured against: a 2048 x 2048 matmul per dtype, here, before the variants
    peaks = hardware.micro_benchmark(size=2048, seconds=1.0)["results"]
    bench.bench_train(args.params, args.set, steps=args.steps,
                      peaks={r["dtype"]: r["tflops"] for r in peaks if r["op"] == "matmul"})  # fmt: skip
    return 0


def cmd_models(args) -> int:
    import json

    if args.action == "list":
        print(registry.format_table(registry.list_models(args.refs[0] if args.refs else None)))
        print(f"registry: {registry.root()}")
    elif args.action == "show":
        if len(args.refs) != 1:
            raise ValueError("mcpft models show NAME[:vN]")
        print(json.dumps(registry.get(args.refs[0]), indent=2, sort_keys=True, default=str))
    else:
        if len(args.refs) != 2:
            raise ValueError("mcpft models compare NAME:vA NAME:vB")
        print(registry.format_table(registry.compare(*args.refs)))
    return 0


def cmd_serve(args) -> int:
    serve_app.serve(args.target, args.profile, args.set, args.host, args.port, args.backend, args.max_batch,
                    args.max_tokens)  # fmt: skip
    return 0


def cmd_catalogs(args) -> int:
    try:
        if args.action == "refresh":
            for p in catalogs.regenerate_harvested(npm=args.npm):
                print(f"wrote {p}")
            return 0
        if args.action == "pool":
            r = pool.harvest_pool(args.only or None, jobs=args.jobs, prune=args.prune)
            print(f"pool: {len(r['ok'])} harvested, {len(r['failed'])} failed in {r['seconds']:.0f} s "
                  f"({len(pool.pool_names())} catalogs in {pool.POOL_DIR})")  # fmt: skip
            return 0
        command = args.command
        h = harvest.harvest_server(
            args.name,
            command[0] if command else None,
            command[1:],
            env=harvest.parse_env(args.env),
            timeout=args.timeout,
            pypi=args.pypi,
            npm=args.npm_spec,
            pip_with=args.pip_with,
            description=args.description,
        )
    except harvest.HarvestError as e:
        print(f"mcpft: error: {e}", file=sys.stderr)
        return 1
    for r in h.rejected:
        print(f"rejected tool {r['tool']!r}: {r['reason']}", file=sys.stderr)
    print(harvest.save_harvest(h, args.out or "."))
    return 0


def cmd_data(args) -> int:
    distractors = [] if args.no_distractors else load_catalogs()
    options = synth.Options(parallel=args.dialect == "native", rename_fraction=args.rename_fraction,
                            max_tools=args.max_tools)  # fmt: skip
    stats = synth.generate_from_catalogs(args.catalog, args.n, args.out, args.seed, distractors, options,
                                         overwrite=args.overwrite)  # fmt: skip
    print(json.dumps({k: v for k, v in stats.items() if k != "paths"}, indent=2))
    for path in stats["paths"].values():
        print(f"wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="mcpft", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)

    def with_params(p):
        p.add_argument("params", help="params YAML profile, e.g. params/default.yaml")
        p.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="KEY.PATH=VALUE",
            help="override a param (repeatable), e.g. --set train.max_steps=10",
        )

    p = sub.add_parser("run", help="execute the notebooks into reports/<run-id>/ and publish the report")
    with_params(p)
    p.add_argument("--only", help="comma-separated notebooks, e.g. 00,02 (default: all six)")
    p.add_argument("--upstream", help="earlier run whose artifacts the selected notebooks may use")
    p.add_argument("--notebooks", help="folder with the notebooks (default: notebooks/)")
    p.add_argument("--cell-timeout", type=int, default=None, help="seconds per cell (default: none)")
    p.set_defaults(fn=cmd_run)

    p = sub.add_parser("check", help="validate a params file (and overrides) without running anything")
    with_params(p)
    p.set_defaults(fn=cmd_check)

    p = sub.add_parser("report", help="regenerate every run page and reports/index.html, list runs")
    p.add_argument("--limit", type=int, default=20)
    p.set_defaults(fn=cmd_report)

    p = sub.add_parser(
        "bench",
        help="benchmarks; `train`: TRL defaults vs mcpft, ratio last; `data`: generator examples/second; "
        "`generate`: one model.generate per item vs fast generation, ratio last; `perf`: prefill/decode "
        "tokens/s, time to first token, peak memory per model variant and MCP server; `bfcl`: BFCL v4 accuracy "
        "per category with 95%% intervals",
    )
    p.add_argument("what", choices=["train", "data", "generate", "perf", "bfcl"])
    with_params(p)
    p.add_argument("--steps", type=int, default=6, help="optimizer steps per variant (train)")
    p.add_argument("--examples", type=int, default=10_000, help="examples to generate (data)")
    p.add_argument("--items", type=int, default=16, help="test-split turns decoded by both paths (generate)")
    p.add_argument(
        "--variants", help="comma-separated, default all: base,adapter,merged,int8,nf4,gguf (perf)"
    )
    p.add_argument(
        "--backends",
        help="perf: compare inference backends instead of variants, e.g. transformers,llama_cpp (prefill and "
        "decode tokens/s at batch 1, aggregate at eval.batch_size on --items test turns; ratio last)",
    )
    p.add_argument("--new-tokens", type=int, default=16, help="greedy tokens per prompt (perf)")
    p.add_argument(
        "--adapter", help="trained adapter folder (perf; default: a fresh LoRA of the run's shape)"
    )
    p.add_argument("--merged", help="merged export folder (perf; default: merge the adapter in memory)")
    p.add_argument("--gguf", help="GGUF file (perf; default: the GGUF the base model is loaded from, if any)")
    p.add_argument(
        "--model",
        choices=["base", "fine_tuned"],
        default="base",
        help="which model answers (bfcl; perf --backends)",
    )
    p.add_argument("--run", help="the run whose merged model is fine_tuned (bfcl; perf --backends)")
    p.add_argument("--categories", help="comma-separated BFCL categories (bfcl; default: all ten)")
    p.add_argument("--per-category", type=int, help="a seeded sample of N entries per category (bfcl)")
    p.add_argument("--out", help="JSON file for the summary and one record per entry (bfcl)")
    p.add_argument("--compare", nargs=2, metavar=("A.json", "B.json"),
                   help="bfcl: pair two --out files on their common entries; accuracy per category and McNemar")  # fmt: skip
    p.set_defaults(fn=cmd_bench)

    p = sub.add_parser("models", help="registered models: list [NAME] | show NAME[:vN] | compare A B")
    p.add_argument("action", choices=["list", "show", "compare"])
    p.add_argument("refs", nargs="*", help="NAME, NAME:vN or NAME:latest")
    p.set_defaults(fn=cmd_models)

    p = sub.add_parser(
        "serve",
        help="an OpenAI-compatible /v1/chat/completions endpoint (tool calling) for a run's model or the base model",
    )
    p.add_argument(
        "target", nargs="?", help="RUN_ID, or `base` (default: the newest finished run of --profile)"
    )
    p.add_argument(
        "--profile", help="params YAML for `base` or to find the newest run (default: params/default.yaml)"
    )
    p.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE",
                   help="override a param of the run or profile, e.g. --set eval.dtype=float32")  # fmt: skip
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--backend", default="transformers", choices=["transformers", "llama_cpp"],
                   help="inference backend (llama_cpp: the GGUF in llama.cpp; pip install -e '.[llama]')")  # fmt: skip
    p.add_argument("--max-batch", type=int, default=8, help="requests decoded together at most (default 8)")
    p.add_argument("--max-tokens", type=int, default=256, help="max_tokens of a request that gives none")
    p.set_defaults(fn=cmd_serve)

    p = sub.add_parser(
        "data", help="datasets: `generate` schema-driven examples for the tools of any catalogs"
    )
    dsub = p.add_subparsers(dest="data_cmd", required=True)
    g = dsub.add_parser("generate", help="examples for the tools of harvested catalogs, no code per tool")
    g.add_argument(
        "--catalog", action="append", required=True, metavar="FILE", help="catalog JSON (repeatable)"
    )
    g.add_argument("--n", type=int, required=True, help="examples to write (before splitting)")
    g.add_argument(
        "--out", required=True, help="folder for train/val/test JSONL, the OpenAI export and stats"
    )
    g.add_argument("--seed", type=int, default=0)
    g.add_argument(
        "--dialect",
        choices=["native", "xml"],
        default="native",
        help="native allows several calls in one turn (parallel); xml keeps one call per message",
    )
    g.add_argument("--rename-fraction", type=float, default=0.2, help="share of examples with masked names")
    g.add_argument("--max-tools", type=int, default=30, help="most tools offered in one example")
    g.add_argument("--no-distractors", action="store_true", help="offer only the catalogs' own tools")
    g.add_argument("--overwrite", action="store_true", help="replace a dataset already in --out")
    g.set_defaults(fn=cmd_data)

    p = sub.add_parser("catalogs", help="harvest MCP servers' tool catalogs: harvest | refresh | pool")
    acts = p.add_subparsers(dest="action", required=True)
    a = acts.add_parser(
        "harvest",
        help="start any stdio MCP server, list its tools and resources, write NAME.json",
        usage="mcpft catalogs harvest NAME [--env KEY=VALUE ...] [--timeout S] [--pypi PKG==VER | --npm PKG@VER] "
        "[--with REQ ...] [--description TEXT] [--out DIR] [-- COMMAND [ARGS ...]]",
    )
    a.add_argument("name", help="the server's name: a lowercase slug, [a-z0-9_]+")
    a.add_argument("command", nargs="*", help="after --: the command that starts the server, and its args")
    a.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="server env (repeatable)")
    a.add_argument("--timeout", type=float, default=harvest.DEFAULT_TIMEOUT, help="seconds for start + list")
    src = a.add_mutually_exclusive_group()
    src.add_argument(
        "--pypi", metavar="PKG==VER", help="install the PyPI package in its own cached venv first"
    )
    src.add_argument("--npm", dest="npm_spec", metavar="PKG@VER", help="install the npm package first")
    a.add_argument(
        "--with",
        dest="pip_with",
        action="append",
        default=[],
        metavar="REQ",
        help="with --pypi: another requirement to install alongside (repeatable), e.g. 'mcp<2'",
    )
    a.add_argument("--description", help="the catalog's description (default: what the server says)")
    a.add_argument("--out", help="folder for NAME.json (default: the current folder)")
    a = acts.add_parser("refresh", help="re-harvest the built-in catalogs of servers that run locally")
    a.add_argument("--npm", action="store_true", help="also the pinned npm servers (needs Node.js and npx)")
    a = acts.add_parser("pool", help="harvest the pool's candidates into mcpft_lib/mcp/pool/")
    a.add_argument("--only", nargs="+", metavar="NAME", help="just these candidates")
    a.add_argument("--jobs", type=int, default=3, help="servers harvested in parallel")
    a.add_argument("--prune", action="store_true", help="delete the catalog of a candidate that failed")
    p.set_defaults(fn=cmd_catalogs)
    return ap


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    server_command = None
    if (
        argv[:2] == ["catalogs", "harvest"] and "--" in argv
    ):  # everything after -- is the server's command line
        cut = argv.index("--")
        argv, server_command = argv[:cut], argv[cut + 1 :]
    args = build_parser().parse_args(argv)
    if server_command is not None:
        args.command = [*args.command, *server_command]
    try:
        return args.fn(args)
    except (ParamsError, ValueError, FileNotFoundError, FileExistsError) as e:
        print(f"mcpft: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mcpft: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
