"""The seeded generators of the SYNTHETIC demo data (``data/demo/``), kept out of the runtime package.

``python -m evaluation_demo`` rewrites ``data/demo/`` (see :mod:`evaluation_demo.generate`); the
perception-survey waves come from :mod:`evaluation_demo.survey`, the comparison territories from
:mod:`evaluation_demo.comparison`. ``evaluation`` never imports this package: reports read the
files, not the generator.
"""
