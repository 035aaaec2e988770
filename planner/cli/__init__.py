"""The Typer app: parse options, call the API, render; nothing else."""
