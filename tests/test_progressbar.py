"""core.progressbar: where a progress bar goes (the terminal in a headless run, else tqdm.auto's choice)."""

import io
import os

from mcpft_lib.core import progressbar


def test_headless_bar_is_text_on_the_terminal(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr(progressbar, "terminal_stderr", lambda: out)
    monkeypatch.setenv(progressbar.ENV, progressbar.TERMINAL)
    assert progressbar.headless()
    with progressbar.bar(total=3, desc="items", unit="item") as b:
        b.update(2)
    text = out.getvalue()
    assert "items:   0%" in text and "2/3" in text and "item/s]" in text
    progressbar.say("dequantising once")
    assert out.getvalue().endswith("dequantising once\n")


def test_interactive_bar_is_tqdm_auto(monkeypatch, capsys):
    from tqdm.auto import tqdm

    def never():
        raise AssertionError("an interactive bar must not go to the terminal's own stderr")

    monkeypatch.setattr(progressbar, "terminal_stderr", never)
    monkeypatch.delenv(progressbar.ENV, raising=False)
    assert not progressbar.headless()
    b = progressbar.bar(range(4), desc="items")
    assert type(b) is tqdm and list(b) == [0, 1, 2, 3]  # outside a kernel tqdm.auto is a text bar on stderr
    progressbar.say("hello")
    assert capsys.readouterr().out == "hello\n"


def test_forced_terminal_bar_takes_the_given_file(monkeypatch):
    monkeypatch.delenv(progressbar.ENV, raising=False)
    out = io.StringIO()
    with progressbar.bar(total=2, desc="train", to_terminal=True, file=out) as b:
        b.update(2)
    assert "train: 100%" in out.getvalue() and "2/2" in out.getvalue()


def test_report_runner_makes_its_kernels_headless(monkeypatch):
    from mcpft_lib.report import runner

    # a copy of the environment: _kernel_env sets variables that monkeypatch.delenv would not restore
    monkeypatch.setattr(os, "environ", {k: v for k, v in os.environ.items() if k != progressbar.ENV})
    assert not progressbar.headless()
    runner._kernel_env()
    assert os.environ[progressbar.ENV] == progressbar.TERMINAL and progressbar.headless()
