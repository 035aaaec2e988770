"""Datasets in, requests out: JSONL chat requests, vendor batch files, CSV, Parquet, text."""
