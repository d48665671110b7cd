"""`python -m app.cli`: the same as the `portal` command."""

from app.cli import main

main()
