"""Vendor batch files out (prepare, validate) and finished batches back (reconcile)."""
