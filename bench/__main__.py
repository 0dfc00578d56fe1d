from storebench.cli import main

raise SystemExit(main())
