"""The video library: sessions learned into one archive, behind one contract with two kinds.

``contract.VideoLibrary`` is what every kind implements; ``kinds`` maps an archive's strategy to
its kind. ``grow/`` gives every session a network of its own (the default); ``supernet/`` keeps
sessions as subnetworks of one masked supernet, trained by the PNR paper's strategies. Both run
the NeRV of ``nerv``, the one training loop of ``trainer`` and the fixed-batch decode of
``decoding``; ``archive`` is the file they live in.
"""
