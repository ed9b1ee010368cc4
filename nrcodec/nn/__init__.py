"""torch building blocks: masked (subnetwork) layers, embeddings, GDN, entropy models. No file I/O."""
