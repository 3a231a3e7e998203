"""French rendering: the blocks and charts the notebooks display (one module per report kind, shared
pieces in :mod:`.blocks`, notebook parameters in :mod:`.parameters`), number formatting, the nbconvert
template of the HTML reports (``templates/``)."""
