from phony_client.cli import main

raise SystemExit(main())
