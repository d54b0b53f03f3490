"""PyTorch twins of the Swift model modules (same names, same weights, same math)."""
