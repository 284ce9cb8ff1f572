"""The recipe that generalises: which servers train, which are held out (whole families), and the options.

Training draws schema-driven examples over the server pool and the project's catalogs; a seeded draw of whole
pool families (`data.synth.held_out_servers` servers at least) never appears in training — not as the called
server, not as a distractor — and makes the synthesized part of the `held_out_servers` split. Servers of the
hand-written held-out set (data/handwritten/) are never trained on either.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from random import Random

from mcpft_lib.config import Params
from mcpft_lib.core.fsutil import read_json
from mcpft_lib.core.schema import Server
from mcpft_lib.data.synth.builder import SYNTH_CATEGORIES, Options
from mcpft_lib.data.synth.run import read_catalog_file
from mcpft_lib.mcp import pool
from mcpft_lib.mcp.catalogs import load_catalogs
from mcpft_lib.runs import project_root


def handwritten_servers() -> tuple[set[str], set[str]]:
    """(packages, names) of the hand-written held-out set's servers (never trained on); empty without the set."""
    path = project_root() / "data" / "handwritten" / "servers.json"
    if not path.is_file():
        return set(), set()
    data = read_json(path)
    rows = [r for r in (data.get("servers", []) if isinstance(data, dict) else data) if isinstance(r, dict)]
    return {str(r["package"]) for r in rows if r.get("package")}, {
        str(r["name"]) for r in rows if r.get("name")
    }


@lru_cache(maxsize=1)
def bfcl_names() -> frozenset[str]:
    """BFCL v4's function names (and their `.` -> `_` forms, as BFCL names them for function-calling models)."""
    lines = Path(__file__).with_name("bfcl_names.txt").read_text(encoding="utf-8").splitlines()
    names = {ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")}
    return frozenset(names | {n.replace(".", "_") for n in names})


def without_bfcl(servers: list[Server]) -> list[Server]:
    """The servers minus any tool named like a BFCL function (BFCL must measure functions never trained on)."""
    banned = bfcl_names()
    out = []
    for s in servers:
        tools = [t for t in s.tools if t.name not in banned]
        if tools:
            out.append(s if len(tools) == len(s.tools) else s.model_copy(update={"tools": tools}))
    return out


def options(p: Params) -> Options:
    s = p.data.synth
    cats = tuple(s.categories) if s.categories else SYNTH_CATEGORIES
    return Options(categories=cats, parallel=p.data.dialect == "native", rename_fraction=s.rename_fraction,
                   max_tools=s.max_tools, distractor_p=s.distractor_p)  # fmt: skip


def own_catalogs(p: Params) -> list[Server]:
    """The user's catalogs of `data.synth.catalogs` (a missing or bad file is an error naming it)."""
    out = []
    for f in p.data.synth.catalogs:
        path = Path(f) if Path(f).is_absolute() else project_root() / f
        out.append(read_catalog_file(path))
    return out


def split_servers(p: Params, mine: list[Server] = ()) -> tuple[list[Server], list[Server], dict[str, str]]:
    """(servers to train on, held-out servers, family of every server) for `data.synth`; `mine` (the user's own
    catalogs) train, and pool servers of the same name or package give way to them."""
    family: dict[str, str] = {}
    pooled: list[Server] = []
    if p.data.synth.pool:
        for fam, names in pool.families().items():
            for n in names:
                family[n] = fam
        pooled = pool.load_pool()
    packages, names = handwritten_servers()  # the same package, name or family: not trained, not in the split
    pooled = [
        s for s in pooled if s.package not in packages and s.name not in names and family[s.name] not in names
    ]
    taken = {s.name for s in mine} | {s.package for s in mine if s.package}
    pooled = [s for s in pooled if s.name not in taken and s.package not in taken]
    own = load_catalogs()  # the project's catalogs: trained on unless held out by data.held_out_servers
    trained_own = {s.name for s in own if s.name not in p.data.held_out_servers}
    # a family that shares its name with a trained catalog (e.g. another GitHub server) is trained, never held out
    fams = sorted({family[s.name] for s in pooled} - trained_own)
    Random(f"{p.run.seed}:held-out-families").shuffle(fams)
    held_fams: set[str] = set()
    count = 0
    for fam in fams:
        if count >= p.data.synth.held_out_servers:
            break
        held_fams.add(fam)
        count += sum(1 for s in pooled if family[s.name] == fam)
    held = [s for s in pooled if family[s.name] in held_fams]
    held += [s for s in own if s.name in p.data.held_out_servers]
    train = [s for s in pooled if family[s.name] not in held_fams]
    train += [s for s in own if s.name not in p.data.held_out_servers and s.package not in packages]
    train = [s for s in train if s.name not in taken] + list(mine)
    for s in [*own, *mine]:
        family.setdefault(s.name, s.name)
    return without_bfcl(train), held, family
