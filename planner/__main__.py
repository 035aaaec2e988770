"""`python -m planner …` runs the `batchplan` command (handy in a checkout without the entry point installed)."""

from planner.cli.main import main

main()
