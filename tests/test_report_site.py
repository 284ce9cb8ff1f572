"""The report site in a real browser: Playwright drives headless Chromium (Debian's `chromium`; Playwright's own
browser downloads are never used) over reports/index.html, the run's page and every notebook and example page of a
smoke run. A page fails on a JavaScript exception, a console error or failed assertion (Chromium reports a resource
that failed to load there too), a local request that failed, any request that leaves the machine (the site must
open offline; such requests are also aborted), or a plotly chart that did not draw. Screenshots go into the run
folder (site.png, site-charts.png)."""

import http.server
import json
import os
import shutil
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = (
    "/usr/bin/chromium"  # Debian's package (.ci/run installs it)
    if os.path.exists("/usr/bin/chromium")
    else shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
)
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # no update checks or field trials: nothing leaves the machine by itself
    "--disable-component-update",
    "--disable-sync",
]
LOCAL = ("file:", "data:", "blob:", "about:")  # what a page of the site may load

# per page: plotly divs, how many drew their SVG, and the data points of each chart
PLOTLY_CHECK = """() => {
  const divs = Array.from(document.querySelectorAll('.plotly-graph-div'));
  return divs.map(d => {
    const traces = d._fullData || [];
    const points = traces.reduce((n, t) => n + Math.max(
      (t.x || []).length, (t.y || []).length, (t.z || []).length, (t.values || []).length), 0);
    return {id: d.id, svg: d.querySelectorAll('.main-svg').length, traces: traces.length, points: points};
  });
}"""
ALL_DRAWN = "() => Array.from(document.querySelectorAll('.plotly-graph-div')).every(d => d.querySelector('.main-svg'))"


class Browser:
    """One headless Chromium (Playwright's sync API); each opened file gets a fresh page, so every problem is
    charged to the page that caused it."""

    def __init__(self, chromium):
        self.context = chromium.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
        # a request that would leave the machine is aborted (and reported by `open`)
        self.context.route(
            lambda url: not url.startswith(LOCAL), lambda route: route.abort("blockedbyclient")
        )
        self.page = None

    def open(self, path: Path) -> dict:
        """Load a file; return its problems (exceptions, console errors, failed or remote requests) and plotly
        state."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        if self.page is not None:
            self.page.close()
        page = self.page = self.context.new_page()
        problems: list[str] = []

        def remote(url: str) -> None:
            problems.append(f"remote request (site must open offline): {url}")

        def on_console(msg) -> None:
            if msg.type in ("error", "assert"):
                problems.append(f"console.{msg.type}: {msg.text} {msg.location.get('url', '')}".rstrip())

        def on_request(request) -> None:
            if not request.url.startswith(LOCAL):
                remote(request.url)

        def on_request_failed(request) -> None:
            if request.url.startswith(LOCAL):  # a remote one is reported (and aborted) already
                problems.append(f"failed request: {request.url} ({request.failure})")

        page.on("pageerror", lambda e: problems.append(f"exception: {e.name}: {e.message}"))
        page.on("console", on_console)
        page.on("request", on_request)
        page.on("websocket", lambda ws: remote(ws.url))
        page.on("requestfailed", on_request_failed)
        page.goto(path.resolve().as_uri(), wait_until="load", timeout=60_000)
        try:  # plotly draws asynchronously: give late charts a moment
            page.wait_for_function(ALL_DRAWN, timeout=5_000)
        except PlaywrightTimeout:
            pass  # a chart that never drew is reported by the caller
        charts = page.evaluate(PLOTLY_CHECK)
        page.evaluate("0")  # one more round trip: every event sent before it has been dispatched
        return {"problems": problems, "charts": charts}

    def evaluate(self, expr: str):
        return self.page.evaluate(expr)

    def screenshot(self, out: Path, full_page: bool = True) -> Path:
        if full_page:  # the whole page, at most 6000 px tall
            w, h = self.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
            )
            self.page.screenshot(
                path=out, full_page=True, clip={"x": 0, "y": 0, "width": w, "height": min(h, 6000)}
            )
        else:
            self.page.screenshot(path=out)
        return out

    def close(self) -> None:
        self.context.close()


def _missing(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing in CI (.ci/run installs Debian's chromium and the dev extra)")
    pytest.skip(f"{what} is missing (Debian: apt-get install --no-install-recommends chromium; pip: .[dev])")


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        _missing("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, timeout=60_000
        )
        b = Browser(chromium)
        try:
            yield b
        finally:
            b.close()
            chromium.close()


@pytest.mark.slow
def test_the_checks_catch_a_broken_page(browser, tmp_path):
    """The checks themselves can fail: a chart that never draws, a console error, a failed assertion, an
    exception, an unhandled rejection, a missing local file and requests that would leave the machine are all
    caught, each on the page that caused it; and a remote request is aborted before it is sent."""
    page = tmp_path / "bad.html"
    page.write_text(
        "<!doctype html><meta charset=utf-8><div class='plotly-graph-div' id='c'></div>"
        "<script>console.error('boom')</script>"
    )
    seen = browser.open(page)
    assert seen["charts"] == [{"id": "c", "svg": 0, "traces": 0, "points": 0}]
    assert any("boom" in p for p in seen["problems"])
    remote = tmp_path / "remote.html"
    remote.write_text("<!doctype html><meta charset=utf-8><img src='http://192.0.2.1/x.png'>")
    assert any("remote request" in p and "192.0.2.1" in p for p in browser.open(remote)["problems"])
    worse = tmp_path / "worse.html"
    worse.write_text(
        "<!doctype html><meta charset=utf-8><img src='missing.png'>"
        "<link rel=stylesheet href='https://example.invalid/x.css'>"
        "<script>console.assert(false, 'asserted'); Promise.reject(new Error('rejected'))</script>"
        "<script>new WebSocket('ws://192.0.2.1:9')</script><script>throw new Error('thrown')</script>"
    )
    problems = "\n".join(browser.open(worse)["problems"])
    for needle in ("console.assert: asserted", "exception: Error: thrown", "exception: Error: rejected",
                   "failed request: " + (tmp_path / "missing.png").as_uri(),
                   "remote request (site must open offline): https://example.invalid/x.css",
                   "remote request (site must open offline): ws://192.0.2.1:9"):  # fmt: skip
        assert needle in problems, problems
    assert "boom" not in problems  # the first page's error stayed with the first page
    good = tmp_path / "good.html"
    good.write_text("<!doctype html><meta charset=utf-8><title>fine</title><p>nothing wrong here")
    assert browser.open(good) == {"problems": [], "charts": []}

    hits = []  # a server on this machine stands in for the internet: a page's request must never reach it

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/x.png"
        remote.write_text(f"<!doctype html><meta charset=utf-8><img src='{url}'>")
        assert any(url in p for p in browser.open(remote)["problems"])
        assert not hits  # reported, and aborted before it was sent
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.notebook
def test_report_site_in_chromium(smoke_run, browser):
    tmp, run_dir = smoke_run
    info = json.loads((run_dir / "run.json").read_text())
    pages = [tmp / "reports" / "index.html", run_dir / "index.html"]
    pages += [run_dir / s["html"] for s in info["notebooks"].values() if s.get("html")]
    pages += [run_dir / s["html"] for s in info.get("examples", {}).values() if s.get("html")]
    assert len(pages) >= 2 + 6 + 5, pages
    failures, charts_seen = [], 0
    for page in pages:
        seen = browser.open(page)
        for c in seen["charts"]:
            charts_seen += 1
            if not (c["svg"] and c["traces"] and c["points"]):
                seen["problems"].append(f"empty chart {c}")
        if seen["problems"]:
            failures.append(f"{page.relative_to(tmp)}: {seen['problems'][:5]}")
    assert not failures, "\n".join(failures)
    assert charts_seen >= 3  # data composition, token lengths, training curves, evaluation...
    browser.open(run_dir / "index.html")
    shot = browser.screenshot(run_dir / "site.png")
    browser.open(run_dir / "01_data_exploration.html")
    browser.evaluate("document.querySelector('.plotly-graph-div').scrollIntoView() || 0")
    charts = browser.screenshot(run_dir / "site-charts.png", full_page=False)
    for png in (shot, charts):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


@pytest.mark.slow
def test_pages_between_notebooks_in_chromium(browser, paused_pipeline, isolated_reports):
    """The run page and the index as they are while a run goes (as each notebook starts, with an ETA from an
    earlier run of the profile; then as a notebook fails) open clean and offline in Chromium, and show the
    progress section."""
    from mcpft_lib.config import load_params
    from mcpft_lib.report.runner import NOTEBOOKS
    from mcpft_lib.runs import create_run

    earlier = create_run(load_params(ROOT / "params" / "smoke.yaml"), "smoke.yaml")
    earlier.update(status="ok", notebooks={nb: {"status": "ok", "seconds": 10.0 * (i + 1)} for i, nb in enumerate(NOTEBOOKS)})  # fmt: skip
    at_failure = {}

    def log(line):
        if "] 05_documentation FAILED" in line:
            (run_dir,) = (
                d for d in (isolated_reports / "reports").glob("*-smoke*") if d != earlier.report_dir
            )
            at_failure["page"] = (run_dir / "index.html").read_text()
            at_failure["index"] = (run_dir.parent / "index.html").read_text()

    run, seen, _ = paused_pipeline(fail={"05_documentation": RuntimeError("<b>late</b> failure")}, log=log)
    assert all("ETA: <b>about" in s["page"] for s in seen.values())  # from the earlier run
    assert "RuntimeError: &lt;b&gt;late&lt;/b&gt; failure" in at_failure["page"]
    snapshots = [(k, seen[nb]) for k, nb in enumerate(NOTEBOOKS)] + [(None, at_failure)]
    failures = []
    for i, (done, pages) in enumerate(snapshots):
        # beside the real pages, so that their relative links resolve the same way
        run_page, index = run.report_dir / f"progress-{i}.html", run.report_dir.parent / f"index-{i}.html"
        run_page.write_text(pages["page"])
        index.write_text(pages["index"])
        for page in (run_page, index):
            problems = browser.open(page)["problems"]
            if problems:
                failures.append(f"{page.name}: {problems[:5]}")
        browser.open(run_page)
        text = browser.evaluate("document.body.innerText")
        if done is None:
            assert "Progress" in text and "5 done, 1 failed" in text and "ETA" not in text, text
        else:
            assert f"{done} of 6 notebooks done" in text and f"running: {NOTEBOOKS[done]}" in text, text
    assert not failures, "\n".join(failures)


@pytest.mark.notebook
def test_run_page_lists_everything(smoke_run):
    tmp, run_dir = smoke_run
    info = json.loads((run_dir / "run.json").read_text())
    page = (run_dir / "index.html").read_text()
    for nb, s in {**info["notebooks"], **info["examples"]}.items():
        assert nb in page and f"href='{s['html']}'" in page
    assert "Key metrics" in page and "fine_tuned.tool_selection" in page
    assert "Model and versions" in page and info["versions"]["transformers"] in page
    assert "<script" not in page  # static: opens anywhere
    index = (tmp / "reports" / "index.html").read_text()
    assert f"{run_dir.name}/index.html" in index and "12/12" in index


@pytest.mark.notebook
def test_examples_ran_and_the_agent_loop_made_a_live_round_trip(smoke_run):
    _, run_dir = smoke_run
    info = json.loads((run_dir / "run.json").read_text())
    assert {k: v["status"] for k, v in info["examples"].items()} == {
        "01_inference_transformers": "ok",
        "02_adapter_peft": "ok",
        "03_gguf": "ok",
        "04_mcp_agent_loop": "ok",
        "05_inference_api": "ok",
        "06_bring_your_own_server": "ok",
    }
    agent = json.loads((run_dir / "metrics.json").read_text())["examples"]["agent_loop"]
    assert agent["reference_round_trip"] is True
    transcript = json.loads((run_dir / "examples" / "agent_transcript.json").read_text())
    tool_msgs = [m for m in transcript["reference_replay"]["messages"] if m["role"] == "tool"]
    assert tool_msgs and not tool_msgs[0].get("is_error")  # a real result from a live server
    assert transcript["model"]["model_turns"] >= 1
    docs = (run_dir / "05_documentation.html").read_text()
    assert (
        "Performance characteristics" in docs
        and "Limitations" in docs
        and "examples/04_mcp_agent_loop.html" in docs
    )


def _ci(v, n=20):
    return {"value": v, "lo": max(0.0, v - 0.2), "hi": min(1.0, v + 0.2), "n": n}


METRICS = {
    "data": {"version": "abc123", "train": 40},
    "train": {"final_loss": 0.5, "steps": 3},
    "eval": {
        "primary_set": "test",
        "base": {"tool_selection": _ci(0.25), "args_match": _ci(0.0, 8), "well_formed": _ci(0.9)},
        "fine_tuned": {
            "tool_selection": _ci(0.55),
            "args_match": _ci(0.2, 8),
            "well_formed": _ci(0.7),
            "executed_ok": _ci(0.5, 6),
        },
        "tests": {
            "tool_selection": {"p_value": 0.002},
            "args_match": {"p_value": 0.5},
            "well_formed": {"p_value": 0.01},
        },
        "by_category": {
            "fine_tuned": {
                "no_tool": {"tool_selection": _ci(0.9)},
                "multi_step": {"tool_selection": _ci(0.1)},
            }
        },
    },
    "registry": {"name": "mcp-tiny", "version": 3, "base_model": {"id": "tiny", "revision": "tiny-abc"}},
}


def test_performance_and_limitations_come_from_the_numbers():
    from mcpft_lib.report import site

    rows = {r["metric"]: r for r in site.performance_table(METRICS)}
    assert list(rows) == ["well_formed", "tool_selection", "args_match", "executed_ok"]
    assert rows["tool_selection"]["change"] == 0.3 and rows["tool_selection"]["p_value"] == 0.002
    assert (
        rows["executed_ok"]["base"] == "n/a" and rows["tool_selection"]["fine_tuned"] == "0.550 [0.35, 0.75]"
    )
    lim = "\n".join(site.limitations(METRICS))
    assert "Evaluated on 20 assistant turns" in lim
    assert "well_formed: worse than the base model (0.70 vs 0.90" in lim
    assert "No significant difference from the base model (paired test, p >= 0.05) in: args_match." in lim
    assert "Arguments match the reference in 20% of call turns" in lim
    assert "Weakest category: multi_step" in lim and "50% of 6 call turns" in lim
    assert "tool_selection: worse" not in lim  # an improvement is not a limitation
    assert "No evaluation was recorded" in site.limitations({"train": {}})[0]


def test_run_page_and_index_offline_with_versions_and_examples(isolated_reports):
    from mcpft_lib.config import load_params
    from mcpft_lib.core.fsutil import write_json
    from mcpft_lib.report import site
    from mcpft_lib.runs import create_run

    p = load_params(Path(__file__).resolve().parent.parent / "params/smoke.yaml")
    up = create_run(p, "smoke.yaml")
    write_json(up.report_dir / "metrics.json", METRICS)
    (up.artifact_dir / "train" / "checkpoints" / "checkpoint-2").mkdir(parents=True)
    (up.artifact_dir / "train" / "checkpoints" / "checkpoint-2" / "w.bin").write_bytes(b"x" * 100)
    (up.artifact_dir / "train" / "adapter").mkdir(parents=True)
    (up.artifact_dir / "train" / "adapter" / "adapter_model.safetensors").write_bytes(b"y" * 10)
    run = create_run(p, "smoke.yaml", upstream=up.id)
    agent = {"reference_round_trip": True, "model_calls": 1, "model_calls_ok": 1, "model_round_trip": True,
             "model_tools": ["time.get_current_time"], "reference_tools": ["time.convert_time"]}  # fmt: skip
    write_json(run.report_dir / "metrics.json", {"eval": METRICS["eval"], "examples": {"agent_loop": agent}})
    run.update(
        status="ok",
        notebooks={"04_evaluation": {"status": "ok", "html": "04_evaluation.html", "seconds": 3}},
        examples={
            "04_mcp_agent_loop": {
                "status": "failed",
                "html": "examples/04_mcp_agent_loop.html",
                "ipynb": "examples/04_mcp_agent_loop.ipynb",
                "error": "RuntimeError: <boom>",
            }
        },
    )
    assert site.lineage_metrics(run)["train"] == METRICS["train"]  # from the upstream run
    assert site.lineage_metrics(run)["eval"] is not None
    page = site.write_run_page(run).read_text()
    assert "href='examples/04_mcp_agent_loop.html'" in page and "RuntimeError: &lt;boom&gt;" in page
    assert "<script" not in page and "http" not in page.replace("https://", "")  # nothing to fetch
    assert "fine_tuned.tool_selection" in page and ">transformers<" in page
    assert f"href='../{up.id}/index.html'" in page  # where notebooks 00-02 of this run came from
    assert "round trip <b>yes</b>; its tools <b>did not match</b> the reference's" in page
    assert "(time.get_current_time vs time.convert_time)." in page
    links = {r["name"]: r for r in site.artifact_links(run)}
    assert f"{up.id}/train/adapter/adapter_model.safetensors" in links  # upstream artifacts, linked
    assert links[f"{up.id}/train/checkpoints"]["bytes"] == 100  # checkpoints: one row
    assert not any("checkpoint-2" in n for n in links)
    target = (run.report_dir / links[f"{up.id}/train/adapter/adapter_model.safetensors"]["href"]).resolve()
    assert target.read_bytes() == b"y" * 10  # the relative link resolves
    up.update(status="ok")
    write_json(up.report_dir / "metrics.json", METRICS)
    site.write_run_page(up)
    up_page = (up.report_dir / "index.html").read_text()
    assert "mcp-tiny v3" in up_page and "tiny-abc" in up_page and "abc123" in up_page
    index = site.write_index().read_text()
    assert index.count("<tr>") == 3 and "model=mcp-tiny v3" in index and "1/2" in index
    (run.report_dir / "index.html").unlink()
    (up.report_dir / "index.html").write_text("old page")
    site.rebuild_site()  # `mcpft report`: every run page rewritten
    assert "Model and versions" in (up.report_dir / "index.html").read_text()
    assert "Example-usage notebooks" in (run.report_dir / "index.html").read_text()


def test_run_values_are_escaped_by_the_templates(isolated_reports):
    """The pages are jinja2 templates with autoescape: markup in a run's description, errors, tool names,
    registry name and file names is shown as text, never run as markup."""
    from mcpft_lib.config import load_params
    from mcpft_lib.core.fsutil import write_json
    from mcpft_lib.report import site
    from mcpft_lib.runs import create_run

    env = site._templates()
    names = set(env.list_templates())
    assert {"base.html.j2", "run.html.j2", "index.html.j2", "notebooks.html.j2", "links.html.j2"} <= names
    assert all(env.autoescape(n) for n in names)  # select_autoescape() alone skips "*.html.j2"
    p = load_params(Path(__file__).resolve().parent.parent / "params/smoke.yaml")
    p.run.description = "<script>alert('description')</script> & co"
    run = create_run(p, "smoke.yaml")
    agent = {"model_tools": ["<script>alert(1)</script>"], "reference_tools": ["time.convert_time"]}
    evil = "<img src=x onerror=alert(2)>"
    write_json(run.report_dir / "metrics.json", {"examples": {"agent_loop": agent}, "registry": {"name": evil, "version": 1}})  # fmt: skip
    run.update(
        status="failed",
        error="ValueError: <script>alert(3)</script>",
        notebooks={"00_hardware": {"status": "<b>ok</b>", "html": "00_hardware.html", "error": "it's <bad>"}},
        examples={"01_inference": {"status": "failed", "error": "quote ' and \" and <script>"}},
    )
    page = site.write_run_page(run).read_text()
    assert "<script" not in page and "<img" not in page and "<b>ok</b>" not in page
    assert "<p>&lt;script&gt;alert(&#39;description&#39;)&lt;/script&gt; &amp; co</p>" in page
    assert "error: ValueError: &lt;script&gt;alert(3)&lt;/script&gt;</p>" in page
    assert "<td class='&lt;b&gt;ok&lt;/b&gt;'>&lt;b&gt;ok&lt;/b&gt;</td>" in page  # attribute values too
    assert "<td>it&#39;s &lt;bad&gt;</td>" in page and "quote &#39; and &#34; and &lt;script&gt;" in page
    assert "(&lt;script&gt;alert(1)&lt;/script&gt; vs time.convert_time)" in page
    assert "<td><code>&lt;img src=x onerror=alert(2)&gt; v1</code></td>" in page
    index = site.write_index().read_text()
    assert "<img" not in index and "model=&lt;img src=x onerror=alert(2)&gt; v1" in index
    links = site.links_html(
        [{"kind": "<i>report</i>", "name": "a <b>.bin", "href": "a' onclick='x", "bytes": 2e6}]
    )
    assert "<i>" not in links and "<b>" not in links and "href='a&#39; onclick=&#39;x'" in links
    assert "<td style='text-align:right'>2.00</td>" in links
