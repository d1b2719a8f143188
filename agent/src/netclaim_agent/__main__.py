import sys

from netclaim_agent.cli import main

sys.exit(main())
