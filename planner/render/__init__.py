"""Renderers: the same Estimate as a terminal table, JSON, CSV, Markdown or HTML."""
