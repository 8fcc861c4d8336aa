"""Sphinx configuration for the sklearn-hardmax documentation.

Build the HTML pages from the repository root with
``pip install -e ".[docs]" && sphinx-build -W -b html doc doc/_build/html``.
The gallery runs every ``examples/plot_*.py`` script, so numpy, scipy,
scikit-learn and matplotlib must be importable.
"""

import os
import re
import sys

# Import the package from this clone, so the documentation describes the code
# next to it even when another version is installed.
sys.path.insert(0, os.path.abspath(".."))

import sklearn_hardmax  # noqa: E402

project = "sklearn-hardmax"
author = "The sklearn-hardmax developers"
copyright = "The sklearn-hardmax developers"
version = sklearn_hardmax.__version__
release = sklearn_hardmax.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

# autosummary writes one page per object of api.rst into doc/generated/.
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": True}

# numpydoc renders the sections of every docstring. The class pages that
# autosummary generates already list the members, so numpydoc does not.
numpydoc_show_class_members = False

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    "download_all_examples": False,
}

# Methods inherited from scikit-learn, such as ``score`` and ``set_output``,
# carry scikit-learn's docstrings. Their :ref: labels and :term: glossary
# entries exist only in scikit-learn's own documentation, so those roles are
# rendered as plain text. A role with a title keeps the title, and a bare label
# becomes a pointer to scikit-learn's documentation.
_FOREIGN_ROLE = re.compile(r":(?:ref|term):`(?P<title>[^`<]*?)\s*(?:<[^`>]*>)?`")


def _plain_role_text(match):
    is_bare_label = match.group(0).startswith(":ref:") and "<" not in match.group(0)
    if is_bare_label:
        return "the scikit-learn documentation"
    return match.group("title")


def unlink_foreign_roles(app, what, name, obj, options, lines):
    """Replace :ref: and :term: roles in docstrings defined outside this package."""
    module = getattr(obj, "__module__", None) or ""
    if module.split(".")[0] == "sklearn_hardmax":
        return
    lines[:] = [_FOREIGN_ROLE.sub(_plain_role_text, line) for line in lines]


def setup(app):
    app.connect("autodoc-process-docstring", unlink_foreign_roles)


html_theme = "pydata_sphinx_theme"
html_title = f"sklearn-hardmax {version}"
