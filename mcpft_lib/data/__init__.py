"""The dataset stage: the scenario model, intent builders per server, the generator, validation, splits,
importers of public data and of OpenAI / ShareGPT chat rows, the OpenAI chat export, the stage that writes a
run's dataset, and its card."""
