"""The one way in (bounded, read once) and the one way out (atomic, never over an input)."""
