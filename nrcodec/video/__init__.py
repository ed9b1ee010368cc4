"""PNR video engine: the supernet, session training, strategies, and the archive (model <-> file)."""
