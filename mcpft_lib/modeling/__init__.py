"""Models: loading (GGUF, hub, tiny), chat templates, PEFT set-up and chat tokenising."""
