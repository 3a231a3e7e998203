"""``python -m evaluation_demo``: rewrite the synthetic demo data (see :func:`evaluation_demo.generate.main`)."""

import sys

from evaluation_demo.generate import main

sys.exit(main())
