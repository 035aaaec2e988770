"""The vocabulary every layer speaks: errors, money, units, the date, JSON-safe values."""
