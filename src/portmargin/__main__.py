"""``python -m portmargin``: the command-line interface."""

from portmargin.cli import main

main()
