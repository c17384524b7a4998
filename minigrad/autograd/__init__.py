"""Autograd: the graph nodes (`function.py`), the backward pass (`engine.py`), grad mode."""
