"""codistill: few-shot, task-aware distillation of text classifiers with counterfactuals.

The package is organised as one stage per sub-package (``data``, ``models``, ``teacher``,
``evaluation``, ...). Importing ``codistill`` itself is cheap: heavy dependencies (torch,
transformers) are imported by the stages that need them.
"""

__version__ = "0.1.0"

from codistill.errors import CodistillError

__all__ = ["CodistillError", "__version__"]
