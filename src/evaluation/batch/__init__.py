"""The batch (``evaluation run``): run plans, warm kernels, cache keys, the output folder and its lock,
the HTML export, the index page."""
