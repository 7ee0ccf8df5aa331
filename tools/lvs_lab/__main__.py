import sys

from lvs_lab.cli import main

sys.exit(main())
