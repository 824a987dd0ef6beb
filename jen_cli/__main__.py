import sys

from jen_cli.main import main

sys.exit(main())
