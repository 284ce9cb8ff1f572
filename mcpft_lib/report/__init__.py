"""Reporting: the papermill runner, the HTML site, the model card."""
