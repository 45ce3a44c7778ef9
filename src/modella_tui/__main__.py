from modella_tui.cli import main

raise SystemExit(main())
