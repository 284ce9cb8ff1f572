"""The server pool: the committed catalogs (size, validity, provenance, speed), candidates.yaml's checks, and
`harvest_pool` on a scratch pool offline (installs already in a scratch cache, or failing without the network)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
import yaml

from mcpft_lib import cli
from mcpft_lib.mcp import catalogs, harvest, pool

FIXTURE = Path(__file__).with_name("harvest_fixture.py")


# ------------------------------------------------------------------------------------ the committed pool


def test_the_committed_pool_is_big_valid_and_says_where_each_catalog_comes_from() -> None:
    names = pool.pool_names()
    servers = pool.load_pool()
    assert [s.name for s in servers] == names == sorted(set(names))
    assert len(servers) >= 150, len(servers)
    assert sum(len(s.tools) for s in servers) >= 1500
    assert not set(names) & set(catalogs.catalog_names())  # disjoint from the built-in catalogs
    candidates = {c.name: c for c in pool.load_candidates()}
    for s in servers:
        info = pool.harvest_info(s.name)
        cand = candidates[s.name]  # every catalog comes from a candidate
        assert s.package and s.version and s.tools, s.name
        assert (info["package"], info["version"]) == (s.package, s.version), s.name
        assert info["spec"] == str(harvest.parse_spec(info["source"], cand.spec)), s.name
        assert info["family"] == cand.family and info["date"].endswith("Z"), s.name
        assert info["protocol_version"] and info["server_info"], s.name
        assert len({t.name for t in s.tools}) == len(s.tools), s.name
        # machine-independent (no cache, home or scratch folder), and dummy credentials are named, never written
        text = (pool.POOL_DIR / f"{s.name}.json").read_text(encoding="utf-8")
        assert str(Path.home()) + "/" not in text and "/tmp/mcpft-" not in text, s.name
        assert set(info["env"]) >= set(cand.env), s.name
        assert not any(json.dumps(v) in json.dumps(info) for v in cand.env.values()), (
            s.name
        )  # values, as JSON strings
        assert info["tools_listed"] == len(s.tools) + len(info["rejected"]), s.name
    fams = pool.families()
    assert sorted(n for members in fams.values() for n in members) == names
    assert len(fams) >= 100  # breadth: many services, not one vendor's many servers


def test_every_candidate_is_harvested_or_has_a_recorded_failure() -> None:
    fails = pool.failures()
    assert str(Path.home()) + "/" not in json.dumps(fails)
    assert all(f["reason"].strip() and f["spec"] and f["date"].endswith("Z") for f in fails), fails
    failed = {f["name"] for f in fails}
    done = set(pool.pool_names())
    for c in pool.load_candidates():
        assert c.name in done or c.name in failed, f"{c.name}: neither harvested nor in failures.json"


def test_loading_the_whole_pool_is_fast() -> None:
    start = time.perf_counter()
    servers = pool.load_pool()
    fams = pool.families()
    elapsed = time.perf_counter() - start
    assert servers and fams
    assert elapsed < 2.0, f"load_pool + families took {elapsed:.2f} s"


@pytest.mark.slow
def test_every_committed_input_schema_passes_its_meta_schema() -> None:
    assert len(pool.load_pool(full_check=True)) == len(pool.pool_names())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("harvest"), "no 'harvest' block"),
        (lambda d: d.update(harvest="x"), "no 'harvest' block"),
        (lambda d: d.update(extra=1), "extra: Extra inputs are not permitted"),
        (lambda d: d.update(name="other"), "holds server 'other'"),
        (lambda d: d["tools"].append(dict(d["tools"][0])), "defined twice"),
        (lambda d: d["tools"][0].update(inputSchema={"type": "array"}), "must describe an object"),
    ],
)
def test_a_bad_pool_file_is_named(tmp_path, change, message) -> None:
    name = pool.pool_names()[0]
    data = json.loads((pool.POOL_DIR / f"{name}.json").read_text(encoding="utf-8"))
    change(data)
    (tmp_path / f"{name}.json").write_text(json.dumps(data))
    with pytest.raises(catalogs.CatalogError, match=message) as e:
        pool.load_pool(directory=tmp_path)
    assert f"{name}.json" in str(e.value)


def test_full_check_catches_a_schema_the_fast_load_lets_through(tmp_path) -> None:
    name = pool.pool_names()[0]
    data = json.loads((pool.POOL_DIR / f"{name}.json").read_text(encoding="utf-8"))
    data["tools"][0]["inputSchema"] = {"type": "object", "properties": {"q": {"type": "strng"}}}
    (tmp_path / f"{name}.json").write_text(json.dumps(data))
    assert pool.load_pool(directory=tmp_path)[0].name == name
    with pytest.raises(catalogs.CatalogError, match="invalid JSON Schema"):
        pool.load_pool(directory=tmp_path, full_check=True)


def test_pool_files_are_package_data() -> None:
    text = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    assert '"mcp/pool/*.json"' in text and '"mcp/pool/candidates.yaml"' in text


# ------------------------------------------------------------------------------------ candidates.yaml


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"name": "x", "family": "x"}, "exactly one of pypi"),
        ({"name": "x", "family": "x", "pypi": "a==1", "npm": "a@1.0.0"}, "exactly one of pypi"),
        ({"name": "x", "family": "x", "pypi": "a>=1"}, "one exact version"),
        ({"name": "x", "family": "x", "npm": "a@^1.0.0"}, "not an exact version"),
        ({"name": "X-y", "family": "x", "pypi": "a==1"}, "name: String should match pattern"),
        ({"name": "x", "pypi": "a==1"}, "family: Field required"),
        ({"name": "x", "family": "x", "pypi": "a==1", "token": "t"}, "token: Extra inputs are not permitted"),
        ({"name": "time", "family": "x", "pypi": "a==1"}, "built-in catalog"),
    ],
)
def test_bad_candidates_are_named(tmp_path, entry, message) -> None:
    (tmp_path / "candidates.yaml").write_text(
        yaml.safe_dump([{"name": "ok", "family": "f", "pypi": "a==1"}, entry])
    )
    with pytest.raises(ValueError, match=message) as e:
        pool.load_candidates(tmp_path)
    assert "candidates.yaml: entry 2" in str(e.value)


def test_a_name_given_twice_is_refused(tmp_path) -> None:
    twice = [{"name": "ok", "family": "f", "pypi": "a==1"}, {"name": "ok", "family": "f", "npm": "b@1.0.0"}]
    (tmp_path / "candidates.yaml").write_text(yaml.safe_dump(twice))
    with pytest.raises(ValueError, match="entry 2 .*'ok' given twice"):
        pool.load_candidates(tmp_path)


# ------------------------------------------------------------------------------------ harvest_pool offline


def _cached_npm_server(cache: Path, package: str, version: str) -> None:
    """A complete npm install of the fixture server in the cache (so nothing is downloaded)."""
    folder = cache / "servers" / "npm" / f"{package}@{version}"
    (folder / "node_modules" / package).mkdir(parents=True)
    (folder / "node_modules" / package / "package.json").write_text(
        json.dumps({"name": package, "bin": "cli.js"})
    )
    launcher = folder / "node_modules" / ".bin" / package
    launcher.parent.mkdir(parents=True)
    launcher.write_text(f'#!/bin/sh\nexec {sys.executable} {FIXTURE} "$@"\n')
    launcher.chmod(0o755)
    (folder / harvest.MARKER).write_text("{}")


@pytest.mark.slow
def test_harvest_pool_records_failures_and_keeps_earlier_catalogs(tmp_path, monkeypatch, capsys) -> None:
    cache, directory = tmp_path / "cache", tmp_path / "pool"
    monkeypatch.setenv("MCPFT_CACHE", str(cache))
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # no download: a PyPI install that is not cached fails
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "no-wheels"))
    _cached_npm_server(cache, "notes-mcp", "1.0.0")
    directory.mkdir()
    cands = [
        {"name": "notes_a", "npm": "notes-mcp@1.0.0", "family": "notes", "env": {"FIXTURE_TEAM": "red"}},
        {"name": "broken_b", "pypi": "no-such-mcp-server==9.9", "family": "broken", "description": "Never."},
    ]
    (directory / "candidates.yaml").write_text(yaml.safe_dump(cands))

    r = pool.harvest_pool(jobs=2, directory=directory)
    assert r["ok"] == ["notes_a"] and set(r["failed"]) == {"broken_b"}
    assert pool.pool_names(directory) == ["notes_a"]
    [fail] = pool.failures(directory)
    assert fail["name"] == "broken_b" and fail["spec"] == "no-such-mcp-server==9.9"
    assert fail["reason"].startswith("installing no-such-mcp-server==9.9 failed") and fail["date"].endswith(
        "Z"
    )
    assert str(cache) not in json.dumps(fail)
    info = pool.harvest_info("notes_a", directory)
    assert info["family"] == "notes" and "FIXTURE_TEAM" in info["env"] and "red" not in json.dumps(info)
    assert pool.load_pool(directory=directory)[0].description == "Notes of team red (sealed)."
    assert pool.families(directory) == {"notes": ["notes_a"]}

    # the npm install is gone and npm cannot run: notes_a fails now, but its catalog stays (no --prune)
    (cache / "servers" / "npm" / "notes-mcp@1.0.0" / harvest.MARKER).unlink()
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    r = pool.harvest_pool(only=["notes_a"], directory=directory)
    assert r["ok"] == [] and "needs Node.js" in r["failed"]["notes_a"]["reason"]
    assert pool.pool_names(directory) == ["notes_a"]
    assert [f["name"] for f in pool.failures(directory)] == [
        "broken_b",
        "notes_a",
    ]  # broken_b kept: not tried
    r = pool.harvest_pool(only=["notes_a"], prune=True, directory=directory)
    assert pool.pool_names(directory) == [] and "pruned notes_a" in capsys.readouterr().out

    with pytest.raises(ValueError, match="not in .*candidates.yaml: nope"):
        pool.harvest_pool(only=["nope"], directory=directory)


def test_pool_command_line_checks_names_first(capsys) -> None:
    assert cli.main(["catalogs", "pool", "--only", "no_such_candidate"]) == 2
    assert "not in" in capsys.readouterr().err
    assert cli.main(["catalogs", "pool", "--jobs", "0", "--only", pool.load_candidates()[0].name]) == 2
    assert "--jobs 0" in capsys.readouterr().err
