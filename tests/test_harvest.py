"""`mcpft catalogs harvest`: any stdio MCP server through the real CLI entry, its errors, the install step.

The servers are started for real (a FastMCP script, tests/harvest_fixture.py, and processes that die or hang);
the `--pypi` / `--npm` install step is tested without the network: argument checks, ranges refused, a complete
install in the cache reused, and (slow) a venv built from a local wheel with pip's `--no-index`.
"""

from __future__ import annotations

import json
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest

from mcpft_lib import cli
from mcpft_lib.core.schema import Tool
from mcpft_lib.mcp import catalogs, harvest

FIXTURE = Path(__file__).with_name("harvest_fixture.py")
SERVER = [sys.executable, str(FIXTURE)]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty $MCPFT_CACHE for the test."""
    root = tmp_path / "cache"
    monkeypatch.setenv("MCPFT_CACHE", str(root))
    return root


def _harvest(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(["catalogs", "harvest", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


# ---------------------------------------------------------------------------------------- real servers


@pytest.mark.slow
def test_harvest_fixture_server_through_the_cli(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("FIXTURE_LEAK", "x")  # in mcpft's environment, not passed: must not reach the server
    code, out, err = _harvest(
        capsys,
        "notes",
        "--env",
        "FIXTURE_TEAM=blue",
        "--out",
        str(tmp_path),
        "--timeout",
        "30",
        "--",
        *SERVER,
    )
    assert code == 0, err
    path = tmp_path / "notes.json"
    assert out.strip() == str(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    block = data["harvest"]
    assert block["source"] == "command" and block["spec"] is None and block["package"] is None
    assert block["command"] == SERVER and block["env"] == ["FIXTURE_TEAM"]  # names, never values
    assert "blue" not in json.dumps(block)
    assert block["server_info"]["name"] == "fixture-notes" and block["protocol_version"]
    assert block["rejected"] == [] and block["tools_listed"] == 3
    assert block["date"].endswith("Z") and block["date"][:4].isdigit()
    # --env reached the server, the rest of mcpft's environment did not (its instructions say so)
    assert data["description"] == "Notes of team blue (sealed)."
    server = catalogs.load_catalog("notes", tmp_path)  # the loader strips the harvest block
    assert [t.name for t in server.tools] == ["search_notes", "create_note", "archive_note"]
    schema = server.tool("create_note").inputSchema
    assert schema["type"] == "object" and set(schema["required"]) == {"title", "body"}
    assert schema["properties"]["pinned"]["type"] == "boolean"
    assert server.tool("search_notes").inputSchema["properties"]["limit"]["default"] == 10
    assert [(r.uri, r.name, r.mimeType) for r in server.resources] == [
        ("notes://index", "index", "text/plain")
    ]
    assert set(data) == {*server.model_dump(), "harvest"}


@pytest.mark.slow
def test_a_tool_with_an_invalid_schema_is_reported_and_the_others_kept(tmp_path, capsys) -> None:
    code, out, err = _harvest(
        capsys, "notes", "--env", "FIXTURE_MODE=bad_schema", "--out", str(tmp_path), "--", *SERVER
    )
    assert code == 0, err
    assert "rejected tool 'archive_note'" in err and "integr" in err
    data = json.loads((tmp_path / "notes.json").read_text(encoding="utf-8"))
    assert [t["name"] for t in data["tools"]] == ["search_notes", "create_note"]
    [rejected] = data["harvest"]["rejected"]
    assert rejected["tool"] == "archive_note" and "invalid JSON Schema" in rejected["reason"]
    assert data["harvest"]["tools_listed"] == 3
    catalogs.load_catalog("notes", tmp_path)  # what was kept loads and validates


@pytest.mark.slow
def test_a_server_that_exits_at_once(capsys, tmp_path) -> None:
    script = "import sys; print('line one', file=sys.stderr); print('no API key given', file=sys.stderr); sys.exit(7)"
    code, out, err = _harvest(capsys, "quitter", "--out", str(tmp_path), "--", sys.executable, "-c", script)
    assert code == 1 and out == ""
    first = err.splitlines()[0]
    assert "'quitter'" in first and "exited with code 7" in first
    assert f"command: {sys.executable} -c" in err
    assert "no API key given" in err.splitlines()[-1]
    assert not (tmp_path / "quitter.json").exists()


@pytest.mark.slow
def test_a_server_that_never_answers_times_out(capsys) -> None:
    start = time.monotonic()
    code, _, err = _harvest(
        capsys, "sleeper", "--timeout", "2", "--", sys.executable, "-c", "import time; time.sleep(60)"
    )
    elapsed = time.monotonic() - start
    assert code == 1
    assert "'sleeper'" in err and "timed out after 2 s during starting the server and initialize" in err
    assert elapsed < 2 + 8, elapsed  # the timeout, plus the SDK's bounded shutdown (stdin close, TERM, KILL)


@pytest.mark.slow
def test_a_server_that_prints_garbage_on_stdout(capsys) -> None:
    script = "import time\nfor i in range(50):\n    print('Server listening on port 3000', flush=True)\n    time.sleep(0.2)"
    code, _, err = _harvest(capsys, "chatty", "--timeout", "2", "--", sys.executable, "-c", script)
    assert code == 1
    assert "'chatty'" in err and "printed other text on stdout" in err
    assert "'Server listening on port 3000'" in err


def test_command_not_found(capsys) -> None:
    code, _, err = _harvest(capsys, "ghost", "--", "no-such-mcp-server-binary", "--flag")
    assert code == 1
    assert "harvesting 'ghost': command not found: 'no-such-mcp-server-binary'" in err
    assert "command: no-such-mcp-server-binary --flag" in err
    code, _, err = _harvest(capsys, "ghost", "--", "/nonexistent/server")
    assert code == 1 and "not executable: /nonexistent/server" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["Bad-Name", "--", "x"], "lowercase slug"),
        (["ok", "--env", "NOEQUALS", "--", "x"], "--env 'NOEQUALS': give KEY=VALUE"),
        (["ok"], "give the COMMAND"),
        (["ok", "--timeout", "0", "--", "x"], "--timeout 0"),
        (["ok", "--pypi", "mcp-server-foo>=1.0"], "one exact version"),
        (["ok", "--pypi", "mcp-server-foo"], "one exact version"),
        (["ok", "--pypi", "mcp-server-foo==1.*"], "one exact version"),
        (["ok", "--pypi", "mcp-server-foo~=1.0"], "one exact version"),
        (["ok", "--npm", "some-mcp@^1.2.0"], "not an exact version"),
        (["ok", "--npm", "some-mcp@latest"], "not an exact version"),
        (["ok", "--npm", "some-mcp"], "give PKG@VERSION"),
        (["ok", "--npm", "some-mcp@1.0.0", "--with", "mcp<2"], "use it with --pypi"),
        (["ok", "--pypi", "some-mcp==1.0", "--with", "mcp<<2"], "--with 'mcp<<2': not a requirement"),
    ],
)
def test_bad_arguments_are_refused_before_anything_runs(capsys, cache, argv, message) -> None:
    code, _, err = _harvest(capsys, *argv)
    assert code == 2 and message in err, err
    assert not cache.exists()  # nothing was installed


def test_parse_spec_exact_versions() -> None:
    spec = harvest.parse_spec("pypi", "MCP_Server.Foo==1.2.3")
    assert (spec.package, spec.version, str(spec)) == ("mcp-server-foo", "1.2.3", "mcp-server-foo==1.2.3")
    spec = harvest.parse_spec("npm", "@scope/some-mcp@1.2.3-beta.4")
    assert (spec.package, spec.version) == ("@scope/some-mcp", "1.2.3-beta.4")
    assert spec.folder().name == "@scope+some-mcp@1.2.3-beta.4"
    plain, capped = harvest.parse_spec("pypi", "foo==1"), harvest.parse_spec("pypi", "foo==1", ["mcp<2"])
    assert str(plain) == str(capped) == "foo==1" and capped.extras == ("mcp<2",)
    assert plain.folder().name == "foo-1" and capped.folder().name.startswith("foo-1+")  # separate venvs


def test_screen_tools_rejects_duplicates_and_bad_schemas() -> None:
    ok = {"type": "object", "properties": {"q": {"type": "string"}}}
    tools = [
        Tool(name="a", inputSchema=ok),
        Tool(name="a", inputSchema=ok),
        Tool(name="b", inputSchema={"type": "array"}),
        Tool(name="c", inputSchema={"type": "object", "required": "q"}),
        Tool(name="d"),
    ]
    kept, rejected = harvest.screen_tools(tools)
    assert [t.name for t in kept] == ["a", "d"]
    assert [(r["tool"], r["reason"].split(" ")[0]) for r in rejected] == [
        ("a", "duplicate"),
        ("b", "inputSchema"),
        ("c", "invalid"),
    ]


def test_load_catalog_strips_the_harvest_block_and_still_refuses_unknown_keys(tmp_path) -> None:
    base = json.loads(catalogs.catalog_path("time").read_text(encoding="utf-8"))
    (tmp_path / "time.json").write_text(json.dumps({**base, "harvest": {"date": "2026-01-01T00:00:00Z"}}))
    assert catalogs.load_catalog("time", tmp_path) == catalogs.load_catalog("time")
    (tmp_path / "time.json").write_text(json.dumps({**base, "harvest": "yesterday"}))
    with pytest.raises(catalogs.CatalogError, match="harvest: must be an object"):
        catalogs.load_catalog("time", tmp_path)
    (tmp_path / "time.json").write_text(json.dumps({**base, "harvested": {}}))
    with pytest.raises(catalogs.CatalogError, match="harvested: Extra inputs are not permitted"):
        catalogs.load_catalog("time", tmp_path)


# ---------------------------------------------------------------------------------------- the install step


def _launcher(path: Path) -> None:
    """An executable that starts the fixture server with this interpreter (what a console script does)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!/bin/sh\nexec {sys.executable} {FIXTURE} "$@"\n')
    path.chmod(0o755)


def _fake_pypi_install(cache: Path, scripts: list[str]) -> Path:
    folder = cache / "servers" / "pypi" / "fixture-notes-mcp-1.0"
    site = folder / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    dist = site / "fixture_notes_mcp-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fixture-notes-mcp\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[console_scripts]\n" + "".join(f"{s} = x:main\n" for s in scripts)
    )
    for s in scripts:
        _launcher(folder / "bin" / s)
    (folder / harvest.MARKER).write_text("{}")
    return folder


@pytest.mark.slow
def test_pypi_install_in_the_cache_is_reused_and_its_console_script_found(
    cache, tmp_path, capsys, monkeypatch
) -> None:
    _fake_pypi_install(cache, ["fixture-notes-mcp"])
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # an install attempt would fail: the complete one must be reused
    code, out, err = _harvest(capsys, "notes", "--pypi", "fixture-notes-mcp==1.0", "--out", str(tmp_path))
    assert code == 0, err
    block = json.loads((tmp_path / "notes.json").read_text(encoding="utf-8"))["harvest"]
    assert block["source"] == "pypi" and block["spec"] == "fixture-notes-mcp==1.0"
    assert (block["package"], block["version"]) == ("fixture-notes-mcp", "1.0")
    # machine-independent: the cache folder is a placeholder
    assert block["command"] == ["$MCPFT_CACHE/servers/pypi/fixture-notes-mcp-1.0/bin/fixture-notes-mcp"]


def test_pypi_package_with_several_console_scripts_needs_a_command(cache, capsys) -> None:
    _fake_pypi_install(cache, ["notes-cli", "notes-server"])
    code, _, err = _harvest(capsys, "notes", "--pypi", "fixture-notes-mcp==1.0")
    assert code == 1 and "no single entry point (it has 2: notes-cli, notes-server)" in err


@pytest.mark.slow
def test_npm_install_in_the_cache_is_reused_and_its_bin_found(cache, tmp_path, capsys, monkeypatch) -> None:
    folder = cache / "servers" / "npm" / "@fixture+notes-mcp@1.0.0"
    pkg = folder / "node_modules" / "@fixture" / "notes-mcp"
    pkg.mkdir(parents=True)
    (pkg / "package.json").write_text(
        json.dumps({"name": "@fixture/notes-mcp", "bin": {"@fixture/notes-mcp": "cli.js"}})
    )
    _launcher(folder / "node_modules" / ".bin" / "notes-mcp")
    (folder / harvest.MARKER).write_text("{}")
    monkeypatch.setenv("PATH", "/nonexistent")  # npm cannot run: the complete install must be reused
    code, out, err = _harvest(capsys, "notes", "--npm", "@fixture/notes-mcp@1.0.0", "--out", str(tmp_path))
    assert code == 0, err
    block = json.loads((tmp_path / "notes.json").read_text(encoding="utf-8"))["harvest"]
    assert block["source"] == "npm" and block["spec"] == "@fixture/notes-mcp@1.0.0"
    assert block["command"] == [
        "$MCPFT_CACHE/servers/npm/@fixture+notes-mcp@1.0.0/node_modules/.bin/notes-mcp"
    ]
    assert "PUPPETEER_SKIP_DOWNLOAD" in block["env"]  # npm servers get the no-download switches


def _wheel(folder: Path) -> Path:
    """A local wheel of `fixture-notes-mcp` 1.0 whose console script execs the fixture server."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "fixture_notes_mcp-1.0-py3-none-any.whl"
    launcher = textwrap.dedent(
        f"""
        import os, sys

        def main():
            os.execv({sys.executable!r}, [{sys.executable!r}, {str(FIXTURE)!r}])
        """
    )
    files = {
        "fixture_notes_mcp/__init__.py": launcher,
        "fixture_notes_mcp-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: fixture-notes-mcp\nVersion: 1.0\n",
        "fixture_notes_mcp-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
        "fixture_notes_mcp-1.0.dist-info/entry_points.txt": "[console_scripts]\nfixture-notes-mcp = "
        "fixture_notes_mcp:main\n",
    }
    record = "".join(f"{name},,\n" for name in files) + "fixture_notes_mcp-1.0.dist-info/RECORD,,\n"
    with zipfile.ZipFile(path, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
        z.writestr("fixture_notes_mcp-1.0.dist-info/RECORD", record)
    return path


@pytest.mark.slow
def test_pypi_install_builds_a_venv_from_a_local_wheel_then_reuses_it(
    cache, tmp_path, capsys, monkeypatch
) -> None:
    wheels = tmp_path / "wheels"
    _wheel(wheels)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    out_dir = tmp_path / "out"
    code, out, err = _harvest(capsys, "notes", "--pypi", "fixture-notes-mcp==1.0", "--out", str(out_dir))
    assert code == 0, err
    folder = cache / "servers" / "pypi" / "fixture-notes-mcp-1.0"
    assert (folder / harvest.MARKER).is_file() and (folder / "bin" / "fixture-notes-mcp").is_file()
    assert len(catalogs.load_catalog("notes", out_dir).tools) == 3
    stamp = (folder / harvest.MARKER).stat().st_mtime_ns
    for whl in wheels.iterdir():  # gone: a second harvest must not install again
        whl.unlink()
    code, _, err = _harvest(capsys, "notes", "--pypi", "fixture-notes-mcp==1.0", "--out", str(out_dir))
    assert code == 0, err
    assert (folder / harvest.MARKER).stat().st_mtime_ns == stamp
    # a version that is nowhere: the install fails with pip's reason, and leaves no half-made venv behind
    code, _, err = _harvest(capsys, "notes", "--pypi", "fixture-notes-mcp==2.0")
    assert code == 1 and "installing fixture-notes-mcp==2.0 failed" in err
    assert not (cache / "servers" / "pypi" / "fixture-notes-mcp-2.0").exists()


def test_refresh_keeps_the_old_catalogs_command(monkeypatch, capsys) -> None:
    calls = []

    def regenerate(npm: bool = False) -> list[Path]:
        calls.append(npm)
        return [Path("time.json")]

    monkeypatch.setattr(catalogs, "regenerate_harvested", regenerate)
    assert cli.main(["catalogs", "refresh", "--npm"]) == 0 and cli.main(["catalogs", "refresh"]) == 0
    assert calls == [True, False] and "wrote time.json" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli.main(["catalogs"])  # an action is required
    assert "harvest" in capsys.readouterr().err
