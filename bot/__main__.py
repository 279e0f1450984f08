"""`python -m bot` runs the casebot command line."""

from bot.cli import main

raise SystemExit(main())
