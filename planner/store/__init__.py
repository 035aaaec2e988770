"""What batchplan keeps between runs: the config and the history of finished batches."""
