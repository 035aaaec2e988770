"""Tokens per request (exact where the tokenizer is public), and the sample scaled to the job."""
