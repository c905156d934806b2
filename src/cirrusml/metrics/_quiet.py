"""Silencing the warnings scoring raises by design.

Metrics here define their own results for undefined cases (a ratio over zero rows, a constant
input, a class absent from a fold) and report NaN or None; scikit-learn, SciPy and NumPy warn
about those same cases. Inside ``warnings.catch_warnings()``, :func:`quiet_scoring` silences
exactly those kinds of warning (user-facing and numeric ones), not every warning.
"""

from __future__ import annotations

import warnings

__all__ = ["quiet_scoring"]


def quiet_scoring() -> None:
    """Ignore ``UserWarning`` (scikit-learn's ``UndefinedMetricWarning`` and friends) and
    ``RuntimeWarning`` (NumPy's division by zero, SciPy's constant-input warnings)."""
    warnings.simplefilter("ignore", category=UserWarning)
    warnings.simplefilter("ignore", category=RuntimeWarning)
