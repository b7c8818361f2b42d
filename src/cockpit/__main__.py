"""``python -m cockpit`` — the same as the ``cockpit`` command."""

from cockpit.main import main

raise SystemExit(main())
