import sys

from putiofs.cli import main

sys.exit(main())
