"""python -m factiii_cli: the same as the `factiii` command."""
import sys

from factiii_cli.main import main

sys.exit(main())
