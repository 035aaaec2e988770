"""Put first on PYTHONPATH by benchmarks/run.py for the engine's rows: batchplan then finds no ctok and
counts Claude with the table's o200k approximation, so those rows time the counting engine alone. ctok's
exact Claude pass (seconds of pure Python on a calibration sample) is timed by its own row."""

raise ImportError("ctok hidden for the counting-engine benchmark rows")
