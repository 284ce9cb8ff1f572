# mcpft: `just` lists the recipes. Every recipe runs inside .venv (made by `just setup`).
set shell := ["bash", "-euo", "pipefail", "-c"]

venv := ".venv/bin"

# list the recipes
default:
    @just --list

# create .venv and install mcpft with its dev and lab extras (torch 2.13.0; CUDA users: see README)
setup:
    test -d .venv || python3 -m venv .venv
    {{venv}}/pip install -q --upgrade pip
    {{venv}}/pip install -e ".[dev,lab]"

# run the whole pipeline (all six notebooks) on a params profile and publish the report
run PROFILE="default" *ARGS:
    {{venv}}/mcpft run params/{{PROFILE}}.yaml {{ARGS}}

# open JupyterLab on the notebooks (same params files as batch runs)
lab:
    cd notebooks && ../{{venv}}/jupyter lab

# run the test suite (what CI runs)
test *ARGS:
    {{venv}}/python -m pytest {{ARGS}}

# the fast tier: unit tests only (no slow, notebook or gpu tests), about a minute on 2 cores
test-fast *ARGS:
    {{venv}}/python -m pytest -m "not slow and not notebook and not gpu" {{ARGS}}

# lint python and notebooks, check notebooks carry no outputs
lint:
    {{venv}}/ruff check .
    {{venv}}/ruff format --check mcpft_lib tests
    {{venv}}/nbstripout --keep-id --verify notebooks/*.ipynb

# format python and notebooks, strip notebook outputs
fmt:
    {{venv}}/ruff check --fix .
    {{venv}}/ruff format mcpft_lib tests
    {{venv}}/nbstripout --keep-id notebooks/*.ipynb

# log in to the Hugging Face hub (token stored by huggingface_hub, never in reports)
login:
    {{venv}}/hf auth login

# download a profile's base model from the hub (e.g. just download mistralai/Devstral-Small-2507)
download MODEL="mistralai/Devstral-Small-2507":
    {{venv}}/hf download {{MODEL}}

# list runs and regenerate reports/index.html (open it in a browser)
report:
    {{venv}}/mcpft report

# delete every run under reports/ and artifacts/ (asks first)
[confirm("Delete every run under reports/ and artifacts/? (y/N)")]
clean-reports:
    find reports -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
    rm -rf artifacts
