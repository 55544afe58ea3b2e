"""Parametric models, datasets from sessions, training, export and rendering."""
