"""Harvest any stdio MCP server: install it in isolation (a PyPI venv or an npm prefix), start it, list its tools.

One code path for every harvest (`alist_stdio`): the `mcp` SDK's `stdio_client` and `ClientSession` run
`initialize`, every page of `tools/list` and, when the server advertises resources, `resources/list`, all within
one timeout. A failure is a `HarvestError` whose first line says what went wrong (the server exited, with its exit
code; it hung, and in which phase; it printed something other than JSON-RPC on stdout; the command was not found)
and which names the server and its command line, followed by the tail of the server's stderr.

`harvest_server` adds the install step (`--pypi PKG==VER`: a venv under `$MCPFT_CACHE/servers/pypi/`, `--npm
PKG@VER`: a prefix under `$MCPFT_CACHE/servers/npm/`, both reused once complete) and screens the tools: a tool whose
`inputSchema` is not a valid object schema, or whose name was already listed, is kept out of the catalog and
recorded with its reason. The catalog file is a `Server` plus a top-level `"harvest"` block (date, source, install
spec, command line with the cache folder as `$MCPFT_CACHE`, env key names, protocol version and serverInfo);
`catalogs.load_catalog` strips that block, so `Server` itself does not change.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import importlib.metadata
import json
import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcpft_lib.core.fsutil import atomic_write, write_json
from mcpft_lib.core.schema import Resource, Server, Tool
from mcpft_lib.core.system import cache_root

HARVEST_KEY = "harvest"  # the top-level key of a harvested catalog file that is not part of `Server`
CACHE_PLACEHOLDER = "$MCPFT_CACHE"
DEFAULT_TIMEOUT = 60.0
INSTALL_TIMEOUT = 900.0
STDERR_TAIL_LINES = 12
MARKER = ".mcpft-installed.json"  # written last: an install folder without it is incomplete and redone

# for npm installs and npm servers: no browser downloads, no update checks, no telemetry prompts
NODE_ENV = {
    "PUPPETEER_SKIP_DOWNLOAD": "1",
    "PUPPETEER_SKIP_CHROMIUM_DOWNLOAD": "1",
    "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1",
    "npm_config_update_notifier": "false",
    "NO_UPDATE_NOTIFIER": "1",
    "DO_NOT_TRACK": "1",
}


class HarvestError(RuntimeError):
    """A server that could not be installed, started or listed; the first line says why, naming the server."""


# --------------------------------------------------------------------------------------------- the stdio loop


@dataclass
class Listing:
    """What a server answered: its tools and resources, and who it said it was."""

    tools: list[Tool]
    resources: list[Resource]
    protocol_version: str
    server_info: dict[str, Any]
    instructions: str | None = None
    stdout_noise: list[str] = field(default_factory=list)  # stdout lines that were not JSON-RPC


def tool_from_sdk(tool: Any) -> Tool:
    d = tool.model_dump(by_alias=True, exclude_none=True)  # wire names (inputSchema) in mcp 1.x and 2.x
    return Tool(name=d["name"], description=d.get("description", ""), inputSchema=d.get("inputSchema", {}))


def resource_from_sdk(res: Any) -> Resource:
    d = res.model_dump(by_alias=True, exclude_none=True, mode="json")
    return Resource(
        uri=str(d["uri"]),
        name=d.get("name", ""),
        description=d.get("description", ""),
        mimeType=d.get("mimeType"),
    )


def command_line(command: str, args: Sequence[str]) -> str:
    return shlex.join([command, *args])


def _resolve_executable(name: str, command: str, args: Sequence[str], path: str | None) -> str:
    if os.sep in command:
        if not (os.path.isfile(command) and os.access(command, os.X_OK)):
            raise HarvestError(
                f"harvesting {name!r}: command not found or not executable: {command}\n"
                f"  command: {command_line(command, args)}"
            )
        return command
    found = shutil.which(command, path=path)
    if found is None:
        raise HarvestError(
            f"harvesting {name!r}: command not found: {command!r} (not on PATH)\n"
            f"  command: {command_line(command, args)}"
        )
    return found


def _tail(path: Path, lines: int = STDERR_TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _noise_line(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        with contextlib.suppress(Exception):
            return str(errors()[0].get("input", ""))[:200]
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


async def alist_stdio(
    name: str,
    command: str,
    args: Sequence[str] = (),
    *,
    env: dict[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Listing:
    """Start `command args` over stdio, `initialize`, list every page of tools (and the resources when the
    server advertises them) within `timeout` seconds. The server's environment is the SDK's minimal one (PATH,
    HOME, USER, SHELL, TERM, LOGNAME) plus `env`. Raises HarvestError (see the module docstring)."""
    import anyio
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import get_default_environment, stdio_client

    args = list(args)
    cmdline = command_line(command, args)
    path = (env or {}).get("PATH") or get_default_environment().get("PATH")
    executable = _resolve_executable(name, command, args, path)
    with tempfile.TemporaryDirectory(prefix=f"mcpft-harvest-{name}-") as tmp:
        status = Path(tmp, "exit-status")
        errpath = Path(tmp, "stderr.log")
        # a small Python parent records the server's exit code (the SDK does not expose its process); no shell
        params = StdioServerParameters(
            command=sys.executable,
            args=["-c", _EXIT_RECORDER, str(status), executable, *args],
            env=env or None,
            cwd=cwd or tmp,
        )
        noise: list[str] = []
        phase = "starting the server and initialize"
        failure: BaseException | None = None
        listing: Listing | None = None

        async def on_message(message: Any) -> None:
            if isinstance(message, Exception):
                noise.append(_noise_line(message))

        # a real file for the server's stderr: notebook kernels' sys.stderr has no file descriptor; the SDK's
        # traceback per non-JSON stdout line is left out (the error below reports those lines)
        with open(errpath, "w", encoding="utf-8") as errlog, _quiet_parse_errors():
            try:
                with anyio.fail_after(timeout):
                    async with stdio_client(params, errlog=errlog) as (read, write):
                        async with ClientSession(read, write, message_handler=on_message) as session:
                            init = await session.initialize()
                            tools: list[Tool] = []
                            cursor, page_no = None, 1
                            while True:
                                phase = f"tools/list (page {page_no})"
                                page = await session.list_tools(params=_page(cursor))
                                tools += [tool_from_sdk(t) for t in page.tools]
                                cursor, page_no = page.next_cursor, page_no + 1
                                if not cursor:
                                    break
                            resources: list[Resource] = []
                            if init.capabilities.resources is not None:
                                phase = "resources/list"
                                try:  # a server may advertise resources and still refuse the list
                                    resources = [
                                        resource_from_sdk(r)
                                        for r in (await session.list_resources()).resources
                                    ]
                                except Exception:
                                    resources = []
                            info = init.server_info.model_dump(mode="json", exclude_none=True)
                            listing = Listing(
                                tools=tools,
                                resources=resources,
                                protocol_version=str(init.protocol_version),
                                server_info=info,
                                instructions=init.instructions,
                                stdout_noise=noise,
                            )
            except BaseException as exc:  # classified below; KeyboardInterrupt and the like go on up
                if not isinstance(exc, Exception):
                    raise
                failure = exc
        if listing is not None and failure is None:
            return listing
        code = status.read_text().strip() if status.is_file() else None
        what = _what_failed(failure, phase, timeout, code, noise)
        tail = _tail(errpath)
        message = f"harvesting {name!r} failed: {what}\n  command: {cmdline}"
        if noise:
            message += f"\n  stdout lines that are not JSON-RPC ({len(noise)}), first: {noise[0]!r}"
        message += (
            "\n  stderr (last lines):\n    " + tail.replace("\n", "\n    ") if tail else "\n  stderr: (empty)"
        )
        raise HarvestError(message) from failure


# argv: STATUS_FILE COMMAND ARGS...; runs COMMAND on the same stdin/stdout/stderr, writes its exit code
# (128 + N for a signal, as a shell says it) to STATUS_FILE and exits with it
_EXIT_RECORDER = (
    "import subprocess, sys\n"
    "code = subprocess.call(sys.argv[2:])\n"
    "code = code if code >= 0 else 128 - code\n"
    "open(sys.argv[1], 'w').write(str(code))\n"
    "sys.exit(code)\n"
)


class _DropParseErrors(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Failed to parse JSONRPC message")


@contextlib.contextmanager
def _quiet_parse_errors() -> Iterator[None]:
    logger, drop = logging.getLogger("mcp.client.stdio"), _DropParseErrors()
    logger.addFilter(drop)
    try:
        yield
    finally:
        logger.removeFilter(drop)


def _what_failed(
    exc: BaseException | None, phase: str, timeout: float, code: str | None, noise: list[str]
) -> str:
    exited = f"the server exited with code {code}" if code is not None else None
    if isinstance(exc, TimeoutError):
        if exited:
            return f"{exited} during {phase} (no answer within {timeout:g} s)"
        if noise:
            return f"no JSON-RPC answer within {timeout:g} s during {phase}: it printed other text on stdout"
        return f"timed out after {timeout:g} s during {phase} (the server did not answer)"
    if exited:
        return f"{exited} during {phase}"
    text = str(exc).splitlines()[0] if exc is not None and str(exc) else type(exc).__name__
    if "Connection closed" in text:
        return f"the server closed its stdout during {phase}"
    return f"{type(exc).__name__} during {phase}: {text}"


def _page(cursor: str | None) -> Any:
    if cursor is None:
        return None
    from mcp import types

    return types.PaginatedRequestParams(cursor=cursor)


def run_sync(fn: Callable[[], Any]) -> Any:
    """Run an async entry point to completion, also from inside a running loop (Jupyter)."""
    import anyio

    try:
        import asyncio

        asyncio.get_running_loop()
    except RuntimeError:
        return anyio.run(fn)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = anyio.run(fn)
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    t = threading.Thread(target=target, name="mcpft-harvest")
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


# ------------------------------------------------------------------------------------------ screening tools


def schema_problem(schema: dict[str, Any]) -> str | None:
    """Why `schema` is not a usable tool inputSchema (None when it is)."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError
    from jsonschema.validators import validator_for

    if not isinstance(schema, dict):
        return f"inputSchema must be a JSON object, got {type(schema).__name__}"
    try:
        validator_for(schema, default=Draft202012Validator).check_schema(schema)
    except SchemaError as e:
        where = "/".join(map(str, e.absolute_path))
        return f"invalid JSON Schema: {e.message}" + (f" at {where}" if where else "")
    if schema.get("type", "object") != "object":
        return f"inputSchema must describe an object (MCP tool arguments), got type {schema.get('type')!r}"
    return None


def screen_tools(tools: Sequence[Tool]) -> tuple[list[Tool], list[dict[str, str]]]:
    """Split tools into the usable ones and the rejected ones (`{"tool", "reason"}`): a bad inputSchema, or a
    name listed before (the first one is kept)."""
    kept, rejected, seen = [], [], set()
    for tool in tools:
        if tool.name in seen:
            rejected.append({"tool": tool.name, "reason": "duplicate tool name (the first one is kept)"})
            continue
        if why := schema_problem(tool.inputSchema):
            rejected.append({"tool": tool.name, "reason": why})
            continue
        seen.add(tool.name)
        kept.append(tool)
    return kept, rejected


# ------------------------------------------------------------------------------------------ install specs

_NPM_NAME = r"(?:@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*"
_SEMVER = r"\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?"
_SLUG = re.compile(r"^[a-z0-9_]+$")


@dataclass(frozen=True)
class InstallSpec:
    source: str  # pypi | npm
    package: str
    version: str
    extras: tuple[str, ...] = ()  # pypi: more requirements installed with it, e.g. "mcp<2" for a server that
    # imports mcp 1.x's FastMCP but does not cap its mcp dependency

    def __str__(self) -> str:
        return (
            f"{self.package}=={self.version}" if self.source == "pypi" else f"{self.package}@{self.version}"
        )

    def folder(self) -> Path:
        """Where the install lives: $MCPFT_CACHE/servers/pypi/<pkg>-<ver> or .../npm/<pkg>@<ver>."""
        if self.source == "pypi":
            tag = "+" + hashlib.sha256("\n".join(self.extras).encode()).hexdigest()[:8] if self.extras else ""
            return cache_root() / "servers" / "pypi" / f"{self.package}-{self.version}{tag}"
        return cache_root() / "servers" / "npm" / f"{self.package.replace('/', '+')}@{self.version}"


def parse_spec(source: str, spec: str, extras: Sequence[str] = ()) -> InstallSpec:
    """`pypi` PKG==VERSION or `npm` PKG@VERSION, exact versions only (a catalog says what it was harvested from);
    `extras`: more PyPI requirements to install alongside (`--with`)."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    spec = spec.strip()
    if extras and source != "pypi":
        raise ValueError("--with adds PyPI requirements: use it with --pypi")
    for req in extras:
        try:
            Requirement(req)
        except InvalidRequirement as e:
            raise ValueError(f"--with {req!r}: not a requirement ({e})") from None
    if source == "pypi":
        try:
            req = Requirement(spec)
        except InvalidRequirement as e:
            raise ValueError(f"--pypi {spec!r}: not a requirement ({e}); give PKG==VERSION") from None
        pins = list(req.specifier)
        if req.url or req.marker or len(pins) != 1 or pins[0].operator != "==" or "*" in pins[0].version:
            raise ValueError(
                f"--pypi {spec!r}: give one exact version, PKG==VERSION (not a range, a wildcard or none): "
                "a catalog must say what it was harvested from"
            )
        extra_names = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
        return InstallSpec("pypi", canonicalize_name(req.name) + extra_names, pins[0].version, tuple(extras))
    if source == "npm":
        m = re.fullmatch(rf"({_NPM_NAME})@(.+)", spec)
        if not m:
            raise ValueError(f"--npm {spec!r}: give PKG@VERSION with an exact version, e.g. some-mcp@1.2.3")
        if not re.fullmatch(_SEMVER, m.group(2)):
            raise ValueError(
                f"--npm {spec!r}: {m.group(2)!r} is not an exact version (a range or a tag such as 'latest'): "
                "a catalog must say what it was harvested from"
            )
        return InstallSpec("npm", m.group(1), m.group(2))
    raise ValueError(f"unknown install source {source!r} (pypi or npm)")


@contextlib.contextmanager
def _install_lock(folder: Path) -> Iterator[None]:
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f".{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _run_install(what: str, argv: list[str], env: dict[str, str] | None, timeout: float) -> None:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise HarvestError(
            f"installing {what}: no result within {timeout:g} s\n  command: {shlex.join(argv)}"
        ) from None
    except OSError as e:
        raise HarvestError(f"installing {what}: cannot run {argv[0]}: {e}") from None
    if proc.returncode != 0:
        full = (proc.stderr or proc.stdout).rstrip()
        out = "\n".join(full.splitlines()[-STDERR_TAIL_LINES:])
        # the first line that says what went wrong (not npm's "A complete log of this run..." pointer)
        lines = [ln for ln in full.splitlines() if "error" in ln.lower() and "complete log" not in ln]
        first = next(
            (ln for ln in lines if re.search(r"\b(E[A-Z0-9]{3,}|ERROR:)", ln)), lines[0] if lines else ""
        )
        raise HarvestError(
            f"installing {what} failed (exit code {proc.returncode})"
            + (f": {first.strip()}" if first else "")
            + f"\n  command: {shlex.join(argv)}\n  output (last lines):\n    "
            + out.replace("\n", "\n    ")
        )


def install(spec: InstallSpec, timeout: float = INSTALL_TIMEOUT) -> Path:
    """Install `spec` into its own folder under the cache (reused when a complete install is there)."""
    folder = spec.folder()
    with _install_lock(folder):
        if (folder / MARKER).is_file():
            return folder
        if folder.exists():
            shutil.rmtree(folder)  # an interrupted install
        try:
            if spec.source == "pypi":
                _install_pypi(spec, folder, timeout)
            else:
                _install_npm(spec, folder, timeout)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        write_json(folder / MARKER, {"spec": str(spec), "with": list(spec.extras), "date": utc_now()})
    return folder


def _install_pypi(spec: InstallSpec, folder: Path, timeout: float) -> None:
    _run_install(str(spec), [sys.executable, "-m", "venv", "--without-pip", str(folder)], None, 120)
    # this interpreter's pip installs into the venv (`--python`): no pip bootstrap per server
    python = str(folder / "bin" / "python")
    argv = [sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-input", str(spec)]
    argv += spec.extras
    _run_install(str(spec), argv, None, timeout)


def _install_npm(spec: InstallSpec, folder: Path, timeout: float) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise HarvestError(f"installing {spec}: needs Node.js (npm on PATH)")
    folder.mkdir(parents=True)
    atomic_write(folder / "package.json", '{"private": true}\n')  # keeps npm from looking in parent folders
    argv = [npm, "install", "--prefix", str(folder), "--no-audit", "--no-fund", "--loglevel=error", str(spec)]
    _run_install(str(spec), argv, {**os.environ, **NODE_ENV}, timeout)


def entry_points(spec: InstallSpec, folder: Path) -> list[str]:
    """The commands the installed package provides: its console scripts (PyPI) or its `bin` entries (npm)."""
    if spec.source == "pypi":
        name = spec.package.split("[")[0]
        sites = list(folder.glob("lib/python*/site-packages"))
        dists = [d for d in importlib.metadata.distributions(path=[str(s) for s in sites])
                 if _canon(d.metadata["Name"] or "") == name]  # fmt: skip
        if not dists:
            return []
        return sorted(e.name for e in dists[0].entry_points if e.group == "console_scripts")
    manifest = folder / "node_modules" / spec.package / "package.json"
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    bins = data.get("bin") or {}
    if isinstance(bins, str):
        return [spec.package.split("/")[-1]]
    return sorted({b.split("/")[-1] for b in bins})  # npm links a scoped bin name ("@org/x") as .bin/x


def _canon(name: str) -> str:
    from packaging.utils import canonicalize_name

    return canonicalize_name(name)


def bin_dir(spec: InstallSpec, folder: Path) -> Path:
    return folder / "bin" if spec.source == "pypi" else folder / "node_modules" / ".bin"


def resolve_command(spec: InstallSpec, folder: Path, command: str | None) -> str:
    """COMMAND looked up in the install's bin folder first (then on PATH); none given: the package's one entry
    point (for several, the one named like the package)."""
    bins = bin_dir(spec, folder)
    if command:
        return str(bins / command) if os.sep not in command and (bins / command).is_file() else command
    names = entry_points(spec, folder)
    base = spec.package.split("/")[-1].split("[")[0]
    if len(names) > 1 and base in names:
        names = [base]
    if len(names) != 1:
        found = f"it has {len(names)}: {', '.join(names)}" if names else "it has none"
        raise HarvestError(
            f"{spec}: give the COMMAND to start the server (after --): the package has no single entry point "
            f"({found})"
        )
    return str(bins / names[0])


# ------------------------------------------------------------------------------------------ the harvest


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def portable(text: str) -> str:
    """`text` with the cache folder written as $MCPFT_CACHE and the home folder as ~ (catalog files and
    failure reasons are machine-independent)."""
    text = text.replace(str(cache_root()), CACHE_PLACEHOLDER)
    home = str(Path.home())
    return text.replace(home + "/", "~/") if len(home) > 1 else text


def _scrub_listing(listing: Listing, scratch: str) -> Listing:
    """The listing with machine paths a server wrote into its descriptions (its scratch folder, the cache,
    the home folder) made portable: `$HARVEST_CWD`, `$MCPFT_CACHE`, `~`."""
    from pydantic import TypeAdapter

    adapter = TypeAdapter(tuple[list[Tool], list[Resource]])
    text = adapter.dump_json((listing.tools, listing.resources)).decode()
    text = portable(text.replace(scratch, "$HARVEST_CWD"))
    listing.tools, listing.resources = adapter.validate_json(text)
    return listing


@dataclass
class Harvest:
    """A harvested catalog: the usable `Server` and the harvest block its file carries."""

    server: Server
    info: dict[str, Any]

    @property
    def rejected(self) -> list[dict[str, str]]:
        return self.info.get("rejected", [])


def parse_env(pairs: Sequence[str]) -> dict[str, str]:
    """KEY=VALUE strings (the --env options) as a dict; a malformed one is a ValueError naming it."""
    env = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise ValueError(f"--env {pair!r}: give KEY=VALUE (KEY a variable name)")
        env[key] = value
    return env


def harvest_server(
    name: str,
    command: str | None = None,
    args: Sequence[str] = (),
    *,
    env: dict[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    pypi: str | None = None,
    npm: str | None = None,
    pip_with: Sequence[str] = (),
    description: str | None = None,
    default_description: str | None = None,
    install_timeout: float = INSTALL_TIMEOUT,
    extra_info: dict[str, Any] | None = None,
) -> Harvest:
    """Install (with `pypi` or `npm`) and start one stdio server, and return its screened catalog.

    `description` overrides what the server says of itself; `default_description` is used when it says
    nothing (serverInfo's description, else the first paragraph of its instructions)."""
    if not _SLUG.match(name):
        raise ValueError(f"server name {name!r}: use a lowercase slug, [a-z0-9_]+")
    if pypi and npm:
        raise ValueError("give --pypi or --npm, not both")
    if timeout <= 0:
        raise ValueError(f"--timeout {timeout}: give a positive number of seconds")
    if pip_with and not pypi:
        raise ValueError("--with adds PyPI requirements: use it with --pypi")
    spec = parse_spec("pypi", pypi, pip_with) if pypi else parse_spec("npm", npm) if npm else None
    if spec is None and not command:
        raise ValueError(
            f"harvesting {name!r}: give the COMMAND that starts the server (after --), or --pypi/--npm"
        )
    env = dict(env or {})
    if spec is not None:
        folder = install(spec, install_timeout)
        command = resolve_command(spec, folder, command)
        if spec.source == "npm":
            env = {**NODE_ENV, **env}
    assert command is not None
    # a COMMAND of one's own runs in the current folder (relative paths work); an installed server in a scratch one
    with tempfile.TemporaryDirectory(prefix=f"mcpft-cwd-{name}-") as tmp:
        cwd = tmp if spec is not None else os.getcwd()
        listing = run_sync(lambda: alist_stdio(name, command, args, env=env, cwd=cwd, timeout=timeout))
        if spec is not None:
            listing = _scrub_listing(listing, tmp)
    tools, rejected = screen_tools(listing.tools)
    if not tools:
        why = f"; rejected: {rejected[0]['tool']}: {rejected[0]['reason']}" if rejected else ""
        raise HarvestError(
            f"harvesting {name!r} failed: the server listed no usable tool ({len(listing.tools)} listed{why})\n"
            f"  command: {portable(command_line(command, args))}"
        )
    server_info = listing.server_info
    said = server_info.get("description") or _first_paragraph(listing.instructions)
    info: dict[str, Any] = {
        "date": utc_now(),
        "source": spec.source if spec else "command",
        "spec": str(spec) if spec else None,
        **({"with": list(spec.extras)} if spec and spec.extras else {}),
        "package": spec.package if spec else None,
        "version": spec.version if spec else server_info.get("version"),
        "command": [portable(a) for a in (command, *args)],
        "env": sorted(env),
        "protocol_version": listing.protocol_version,
        "server_info": server_info,
        "tools_listed": len(listing.tools),
        "rejected": rejected,
        **(extra_info or {}),
    }
    if listing.stdout_noise:
        info["stdout_noise"] = listing.stdout_noise[:3]
    server = Server(
        name=name,
        description=description or said or default_description or "",
        package=info["package"],
        version=info["version"],
        tools=tools,
        resources=listing.resources,
    )
    return Harvest(server, info)


def _first_paragraph(text: str | None, limit: int = 300) -> str:
    if not text:
        return ""
    para = text.strip().split("\n\n")[0].strip().replace("\n", " ")
    return para if len(para) <= limit else para[: limit - 1].rsplit(" ", 1)[0] + "…"


def dumps_harvest(h: Harvest) -> str:
    """A harvested catalog file: the Server's fields plus the `harvest` block, sorted keys, 2-space indent."""
    data = {**h.server.model_dump(mode="json"), HARVEST_KEY: h.info}
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def save_harvest(h: Harvest, directory: Path | str) -> Path:
    """Write `<directory>/<name>.json` atomically."""
    return atomic_write(Path(directory) / f"{h.server.name}.json", dumps_harvest(h))
