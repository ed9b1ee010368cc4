"""Video in and out with PyAV and Pillow: frames are (T, H, W, 3) uint8 RGB numpy arrays.

Nothing here imports torch, so media I/O is fast to test and reusable on its own."""
