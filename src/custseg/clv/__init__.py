"""Customer lifetime value: buy-till-you-die models and the data prep they need.

Models (scikit-learn style: ``__init__`` stores options, ``fit(table)`` returns the
model, fitted values end in ``_``):

* :class:`BetaGeoModel` (BG/NBD) and :class:`ParetoNBDModel`: repeat purchases and silent
  churn in continuous time;
* :class:`BetaGeoBetaBinomModel` (BG/BB): the same at discrete opportunities;
* :class:`GammaGammaModel`: spend per transaction, and customer lifetime value.

Data prep: :func:`rfm_summary` (transactions to frequency/recency/T),
:func:`calibration_holdout` and :func:`validation_report` (holdout checks).
Models are saved as JSON with ``model.save(path)`` and read with ``Model.load(path)``.
See ``docs/clv.md``.
"""

from __future__ import annotations

from custseg.clv._base import CLVModel, Interval
from custseg.clv._errors import ConvergenceError, NotFittedError
from custseg.clv.beta_geo import BetaGeoModel
from custseg.clv.beta_geo_beta_binom import BetaGeoBetaBinomModel
from custseg.clv.gamma_gamma import GammaGammaModel
from custseg.clv.pareto_nbd import ParetoNBDModel
from custseg.clv.utils import calibration_holdout, rfm_summary
from custseg.clv.validation import ValidationReport, validation_report

__all__ = [
    "BetaGeoBetaBinomModel",
    "BetaGeoModel",
    "CLVModel",
    "ConvergenceError",
    "GammaGammaModel",
    "Interval",
    "NotFittedError",
    "ParetoNBDModel",
    "ValidationReport",
    "calibration_holdout",
    "rfm_summary",
    "validation_report",
]
