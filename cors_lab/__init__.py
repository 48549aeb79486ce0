"""cors-lab: learn cross-origin images and tainted canvases by doing, in Jupyter."""
