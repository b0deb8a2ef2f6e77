"""Sphinx configuration of wsline's documentation.

Build (warnings are errors, nothing is fetched from the network):

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Markdown pages are read by myst-parser; the API reference is generated from
the docstrings by autodoc. Every Python block of the pages runs in the test
suite (tests/docs/test_snippets.py).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

import websocket

project = "wsline"
author = "wsline developers"
copyright = "wsline developers"
release = websocket.__version__
version = release

extensions = ["myst_parser", "sphinx.ext.autodoc"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

# No intersphinx: the build must work offline.
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": True}

html_theme = "alabaster"
html_title = f"wsline {release}"
html_theme_options = {
    "description": "A fast, strict, synchronous WebSocket client; drop-in for websocket-client",
    "fixed_sidebar": True,
}
pygments_style = "sphinx"
