from sparkforge.cli import main

raise SystemExit(main())
