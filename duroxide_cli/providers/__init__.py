"""The stores behind duroxide: one protocol (base.py), one module per store."""
