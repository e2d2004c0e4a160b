"""python -m noctra."""

from noctra.cli import main

raise SystemExit(main())
