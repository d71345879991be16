"""``ganzoo bench``: a matrix of runs under one budget, scored one way, tabulated."""
